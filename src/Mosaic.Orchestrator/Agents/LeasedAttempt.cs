using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Monitor;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// One leased attempt of one agent, which owns its lease the way a fetched job owns its acknowledgement: it renews
/// the lease while it runs, stops the run past AGENT_TIMEOUT_MINUTES, and is the only writer of the agent's record
/// meanwhile. Every write is fenced by the lease, so an attempt that lost it cannot overwrite the task's new holder.
/// It also carries the attempt's work so far for the steps: the next run's prompt, the fix round, the last exit code.
/// </summary>
public sealed partial class LeasedAttempt : IAsyncDisposable
{
    private readonly TaskLease _lease;
    private readonly IWorkerSlot? _slot;
    private readonly AgentTransitions _transitions;
    private readonly ITaskQueue _queue;
    private readonly OrchestratorOptions _settings;
    private readonly TimeProvider _time;
    private readonly AgentMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string _node;
    private readonly ITimer _timeout;
    private readonly CancellationTokenSource _heartbeatStop;
    private readonly Task _heartbeat;

    internal LeasedAttempt(AgentRecord leased, ActiveRun run, IWorkerSlot? slot, AgentTransitions transitions, ITaskQueue queue, OrchestratorOptions settings,
        string node, TimeProvider time, AgentMetrics metrics, ILogger logger)
    {
        _lease = leased.Lease ?? throw new ArgumentException("the record holds no lease", nameof(leased));
        _slot = slot;
        Agent = leased;
        Run = run;
        _transitions = transitions;
        _queue = queue;
        _settings = settings;
        _node = node;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        Folder = AgentFolder.For(settings.FullDataDir, leased.AgentId);
        _timeout = time.CreateTimer(static r => ((ActiveRun)r!).Stop(StopReason.Timeout), run, TimeSpan.FromMinutes(settings.AgentTimeoutMinutes), Timeout.InfiniteTimeSpan);
        _heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(run.Token);
        _heartbeat = HeartbeatAsync(_heartbeatStop.Token);
    }

    public Guid AgentId => Agent.AgentId;

    /// <summary>The record as this attempt last read or wrote it.</summary>
    public AgentRecord Agent { get; private set; }

    public ActiveRun Run { get; }

    /// <summary>Cancelled when the run is stopped from outside (kill, shutdown, lost lease, timeout).</summary>
    public CancellationToken Token => Run.Token;

    /// <summary>DATA_DIR/agents/&lt;id&gt;: the agent's prompt, logs and scratch folders.</summary>
    public AgentFolder Folder { get; }

    /// <summary>What the next agent run is told: the task, or after a failing gate, the task and what to fix.</summary>
    public string Prompt { get; private set; } = "";

    /// <summary>0 for the agent's first result; each fix run adds one.</summary>
    public int Round { get; private set; }

    /// <summary>The exit code of the agent's last run, if it ran.</summary>
    public int? ExitCode { get; set; }


    public void SetTask(string prompt) => Prompt = prompt;

    /// <summary>Sends the agent back to fix its work with <paramref name="fixPrompt"/>.</summary>
    public void NextRound(string fixPrompt)
    {
        Prompt = fixPrompt;
        Round++;
    }

    /// <summary>A fenced change of the record; <paramref name="eventType"/> publishes an event with it when the status stays.</summary>
    public async Task<AgentRecord> WriteAsync(Func<AgentRecord, AgentRecord> change, CancellationToken cancellationToken,
        string? eventType = null, Func<AgentRecord, object?>? eventData = null) =>
        Agent = await _transitions.ChangeAsync(AgentId, change, cancellationToken, _lease, eventData, eventType: eventType);

    /// <summary>Whether this attempt got its workspace (and so may have work worth keeping).</summary>
    public bool Started { get; private set; }

    /// <summary>The workspace is ready: the agent is running here.</summary>
    public async Task<AgentRecord> StartAsync(Workspace workspace)
    {
        var started = await WriteAsync(a => AgentLifecycle.Started(a, workspace, _node, _time.GetUtcNow()), Token);
        Started = true;
        Run.Worktree = workspace.Path;
        return started;
    }

    /// <summary>
    /// Where this attempt's work was kept (<paramref name="branch"/>, <paramref name="commit"/>) or why it was not
    /// (<paramref name="error"/>), with agent.wip. After a kill the record has ended: it is written as a note then.
    /// </summary>
    public async Task RecordWipAsync(string? branch, string? commit, string? error)
    {
        AgentRecord Note(AgentRecord a) => error is null ? a with { WipBranch = branch, WipCommit = commit, WipError = null } : a with { WipError = error };
        object Data(AgentRecord a) => new { wipBranch = branch, wipCommit = commit, error };
        try
        {
            await WriteAsync(Note, CancellationToken.None, AgentEventTypes.Wip, Data);
        }
        catch (IllegalTransitionException)
        {
            Agent = await _transitions.AnnotateEndedAsync(AgentId, Note, AgentEventTypes.Wip, Data, CancellationToken.None);
        }
    }

    /// <summary>A gate's verdict on the record, with its agent.gate event.</summary>
    public Task<AgentRecord> RecordGateAsync(GateResult result) =>
        WriteAsync(a => a with { Gates = [.. (a.Gates ?? []).TakeLast(99), result] }, Token, AgentEventTypes.Gate,
            _ => new { gate = result.Gate, phase = result.Phase, status = result.Status, passed = result.Passed, durationMs = result.DurationMs, round = result.Round, message = result.Message, coveragePercent = result.CoveragePercent });

    /// <summary>What a run reported; kept whatever happens next, since what it cost is worth knowing however the attempt ends.</summary>
    /// <param name="report">What the run reported.</param>
    /// <param name="agentsOwn">The agent's own run (not the AI review's), whose session a fix run or a resume continues.</param>
    public async Task<AgentRecord> RecordRunAsync(AgentRunReport report, bool agentsOwn = false)
    {
        var recorded = await WriteAsync(a => a with
        {
            Run = report,
            TotalCostUsd = report.CostUsd is { } cost ? Math.Round((a.TotalCostUsd ?? 0) + cost, 6) : a.TotalCostUsd,
            AttemptCostUsd = report.CostUsd is { } spent ? Math.Round((a.AttemptCostUsd ?? 0) + spent, 6) : a.AttemptCostUsd,
            AgentSessionId = agentsOwn ? report.SessionId ?? a.AgentSessionId : a.AgentSessionId,
        }, CancellationToken.None);
        _metrics.RunReported(report);
        return recorded;
    }

    /// <summary>Where a run of the runtime happens, as <paramref name="asType"/>; its process start is recorded so kills and restarts find it.</summary>
    public AgentRunContext RunContext(string prompt, AgentType asType, string? continueSession = null) =>
        new(Agent with { AgentType = asType }, Agent.Workspace!, Folder, prompt, RecordProcessAsync, continueSession);

    public Task RecordProcessAsync(ProcessInfo started) =>
        WriteAsync(a => a with { Process = new AgentProcess(started.Pid, started.StartTicks, _node) }, CancellationToken.None);

    /// <summary>
    /// Writes how the attempt ended: a stop from outside decides first (a kill has already written its end), then the
    /// failure (transient ones go back to the queue), then a crash; otherwise it completed. Null when the record is no
    /// longer this attempt's to write (killed or taken over meanwhile).
    /// </summary>
    public async Task<AgentRecord?> EndAsync(Failure? failure, Exception? crash)
    {
        await StopWatchingAsync(); // nothing may stop the run any more while its end is written
        var none = CancellationToken.None; // the end must be written even while the service shuts down
        var now = _time.GetUtcNow();
        // A final end (completed, failed) may lease the slot's next task in the same store step. A retry does not: its
        // own task may be due at once and would be leased again while this run still cleans up its workspace. Nor do a
        // shutdown or a lost lease (the worker is stopping, or this attempt may no longer write).
        var slot = _slot;
        async Task<AgentRecord> Write(Func<AgentRecord, AgentRecord> change) =>
            Agent = await _transitions.ChangeAsync(AgentId, change, none, _lease, refill: slot);
        try
        {
            return (Run.Reason, failure) switch
            {
                (StopReason.Killed, _) => null,
                (StopReason.Shutdown, _) => await _transitions.RequeueAsync(AgentId,
                    new Failure(FailureReason.Shutdown, "the orchestrator shut down during this attempt"), _lease, none, chargeAttempt: false),
                (StopReason.LeaseLost, _) => await _transitions.RequeueAsync(AgentId,
                    new Failure(FailureReason.LeaseLost, "the attempt lost its lease (heartbeat missed)"), _lease, none),
                (StopReason.Timeout, _) => await Write(a => AgentLifecycle.Failed(a,
                    new Failure(FailureReason.Timeout, $"the agent ran longer than AGENT_TIMEOUT_MINUTES ({_settings.AgentTimeoutMinutes})"), null, now)),
                (StopReason.DiskFull, _) => await Write(a => AgentLifecycle.Failed(a,
                    new Failure(FailureReason.DiskFull, $"DATA_DIR fell below DISK_MIN_FREE_MB ({_settings.DiskMinFreeMb}) while this agent ran, and its worktree and folder used the most space of this instance's agents; it was stopped and its worktree removed"), null, now)),
                // A failure that names its retry time (a rate limit) is due then and gives the attempt back.
                (_, { Transient: true, RetryAt: { } at } f) => await _transitions.RequeueAsync(AgentId, f, _lease, none, chargeAttempt: false, dueAt: at),
                (_, { Transient: true } f) => await _transitions.RequeueAsync(AgentId, f, _lease, none),
                (_, { } f) => await Write(a => AgentLifecycle.Failed(a, f, ExitCode, now)),
                _ when crash is not null => await Write(a => AgentLifecycle.Failed(a, new Failure(FailureReason.InternalError, crash.Message), null, now)),
                _ => await Write(a => AgentLifecycle.Completed(a, ExitCode, now)),
            };
        }
        catch (Exception ex) when (ex is IllegalTransitionException or LeaseLostException)
        {
            return null; // killed or taken over meanwhile: whoever did that owns the record now
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopWatchingAsync();
        _heartbeatStop.Dispose();
    }

    private async Task StopWatchingAsync()
    {
        await _timeout.DisposeAsync();
        await _heartbeatStop.CancelAsync();
        await _heartbeat;
    }

    /// <summary>
    /// Renews the lease every third of its duration. A run that cannot renew for two thirds of the lease stops by
    /// itself: cut off from the store, it cannot know whether another instance has taken the task over (which it may
    /// after the lease expires), so it must not go on to push.
    /// </summary>
    private async Task HeartbeatAsync(CancellationToken stop)
    {
        var lease = _settings.LeaseDuration;
        var lastRenewed = _time.GetTimestamp();
        using var timer = new PeriodicTimer(lease / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                bool renewed;
                try
                {
                    renewed = await _queue.RenewLeaseAsync(AgentId, _lease.Token, _time.GetUtcNow() + lease, stop);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogHeartbeatFailed(_logger, ex, AgentId);
                    if (_time.GetElapsedTime(lastRenewed) >= lease * 2 / 3)
                    {
                        Run.Stop(StopReason.LeaseLost);
                        return;
                    }

                    continue; // the store may be back before the lease runs out
                }

                if (!renewed)
                {
                    Run.Stop(StopReason.LeaseLost);
                    return;
                }

                lastRenewed = _time.GetTimestamp();
            }
        }
        catch (OperationCanceledException)
        {
            // The attempt ended.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease renewal of agent {AgentId} failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception ex, Guid agentId);
}

/// <summary>Begins attempts of leased tasks on this node.</summary>
public sealed class LeasedAttempts(AgentTransitions transitions, ITaskQueue queue, IOptions<OrchestratorOptions> options, NodeIdentity node,
    TimeProvider time, AgentMetrics metrics, ILogger<LeasedAttempt> logger)
{
    /// <param name="leased">The task as leased.</param>
    /// <param name="run">Its run in this instance.</param>
    /// <param name="slot">The worker slot it holds, which its end may refill (null: its end leases nothing).</param>
    public LeasedAttempt Begin(AgentRecord leased, ActiveRun run, IWorkerSlot? slot = null) =>
        new(leased, run, slot, transitions, queue, options.Value, node.Node, time, metrics, logger);
}
