using System.Collections.Concurrent;

namespace Mosaic.Orchestrator.Agents;

/// <summary>Why a run was stopped from outside its runtime.</summary>
public enum StopReason { Killed, Shutdown, LeaseLost, Timeout, DiskFull }

/// <summary>One attempt running in this instance: its cancellation and the reason it was stopped, first reason wins.</summary>
public sealed class ActiveRun(Guid agentId) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private int _reason = -1;

    public Guid AgentId { get; } = agentId;

    public CancellationToken Token => _stop.Token;

    public StopReason? Reason => _reason < 0 ? null : (StopReason)_reason;

    public Task Completion { get; internal set; } = Task.CompletedTask;

    /// <summary>The attempt's worktree once it has one (what a disk-full check measures).</summary>
    public string? Worktree { get; set; }

    public void Stop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, -1) == -1)
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run ended between being found and being stopped (a snapshot at shutdown, a kill): nothing to stop.
            }
        }
    }

    public void Dispose() => _stop.Dispose();
}

/// <summary>The runs this instance owns. Every run is awaited at shutdown; none is fire-and-forget.</summary>
public sealed class ActiveRuns
{
    private readonly ConcurrentDictionary<Guid, ActiveRun> _runs = new();

    public int Count => _runs.Count;

    public IReadOnlyCollection<ActiveRun> Snapshot => [.. _runs.Values];

    /// <summary>Registers the run, then starts <paramref name="body"/>; the run leaves the registry when the body ends.</summary>
    public ActiveRun Start(Guid agentId, Func<ActiveRun, Task> body, Action onFinished)
    {
        var run = new ActiveRun(agentId);
        _runs[agentId] = run;
        run.Completion = RunAsync(run, body, onFinished);
        return run;
    }

    public bool TryStop(Guid agentId, StopReason reason)
    {
        if (!_runs.TryGetValue(agentId, out var run))
        {
            return false;
        }

        run.Stop(reason);
        return true;
    }

    public bool IsRunning(Guid agentId) => _runs.ContainsKey(agentId);

    private async Task RunAsync(ActiveRun run, Func<ActiveRun, Task> body, Action onFinished)
    {
        try
        {
            await Task.Yield(); // leave the caller's loop at once; the body runs on the pool
            await body(run);
        }
        finally
        {
            // Only this run's entry: a later run of the same agent (its task leased again while this one cleaned up)
            // stays registered, so shutdown, kills and the slot count still see it.
            _runs.TryRemove(new KeyValuePair<Guid, ActiveRun>(run.AgentId, run));
            run.Dispose();
            onFinished();
        }
    }
}
