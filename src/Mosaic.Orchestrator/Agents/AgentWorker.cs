using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// The worker loop: recover orphans once, then lease due tasks while fewer than MAX_CONCURRENT_AGENTS run here,
/// and sleep until a signal or the poll interval. Shutdown order: stop leasing, stop every run (its task goes back
/// to the queue without spending an attempt), wait for the runs to settle. An attempt that ends while leasing goes on
/// takes its slot's next task in the same store call as its end (<see cref="IWorkerSlot"/>), so a busy worker runs
/// one store step per task instead of two.
/// </summary>
public sealed partial class AgentWorker(
    ITaskQueue queue,
    ActiveRuns runs,
    AgentRunner runner,
    LeaseRecovery recovery,
    QueueSignal signal,
    NodeIdentity node,
    NodeClaim claim,
    LeaseGate gate,
    DiskHogs hogs,
    Monitor.AgentMetrics metrics,
    IOptions<OrchestratorOptions> options,
    TimeProvider time,
    ILogger<AgentWorker> logger) : BackgroundService
{
    private long _passes;

    // Whether the loop leases: set once recovery has run, cleared when the worker stops. An ending attempt leases its
    // slot's next task only meanwhile.
    private volatile bool _leasing;

    // Runs whose attempt has ended and handed its slot to a task leased with that end, while they clean up: they hold
    // no slot any more, so they do not count against MAX_CONCURRENT_AGENTS.
    private int _handedOver;

    /// <summary>Slots taken: runs of this instance, less those that handed theirs over and are cleaning up.</summary>
    private int Occupied => runs.Count - Volatile.Read(ref _handedOver);

    /// <summary>Passes the loop has completed (sweep and leasing done); lets an observer know the worker has looked.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var pollInterval = TimeSpan.FromMilliseconds(settings.QueuePollIntervalMs);
        try
        {
            await claim.FirstHeld.WaitAsync(stoppingToken);
            await recovery.RecoverOrphansAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping, or the host is gone (a start that failed after this began disposes the store under it).
            return;
        }
        catch (Exception ex)
        {
            LogRecoveryFailed(logger, ex); // serve anyway: expired leases are swept below, leftovers cleaned on a later start
        }

        var lastSweep = DateTimeOffset.MinValue;
        string? blocked = null;
        _leasing = !stoppingToken.IsCancellationRequested;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Expired leases are looked for once per poll interval, not on every wake-up by a spawn; nothing is
                // leased or recovered while another live instance holds this NODE_ID.
                if (claim.Held && time.GetUtcNow() - lastSweep >= pollInterval)
                {
                    lastSweep = time.GetUtcNow();
                    await recovery.SweepExpiredAsync(stoppingToken);
                }

                // No new work while the store's file is gone or DATA_DIR is nearly full; said once, not every pass.
                var whyNot = gate.WhyNot();
                if (whyNot != blocked && whyNot is not null)
                {
                    LogNotLeasing(logger, whyNot);
                }

                blocked = whyNot;
                if (whyNot is not null && runs.Count > 0 && gate.DiskLow() is { } low)
                {
                    hogs.StopLargest(low); // a running agent is filling DATA_DIR: end it before the store cannot write
                }

                while (blocked is null && claim.Held && Occupied < settings.MaxConcurrentAgents)
                {
                    var request = NewLease();
                    var leased = await queue.LeaseNextAsync(request.Lease, request.Now, request.ExpiresAt, stoppingToken);
                    if (leased is null)
                    {
                        break;
                    }

                    Start(leased);
                    metrics.Leased(withEnd: false);
                }
            }
            catch (ObjectDisposedException)
            {
                _leasing = false;
                return; // the host is gone: a start that failed (its port taken, say) disposes the store under the loop
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogLoopFailed(logger, ex); // the store may recover; try again after the poll interval
            }

            Interlocked.Increment(ref _passes);
            try
            {
                await signal.WaitAsync(pollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        _leasing = false;
    }

    /// <summary>
    /// Runs a task leased with an attempt's end (<see cref="IWorkerSlot.Run"/>). Never drops it: when the worker is
    /// stopping, the run is stopped at once and its end gives the task back to the queue without spending its attempt.
    /// </summary>
    internal void RunHandedOver(AgentRecord leased)
    {
        var run = Start(leased);
        metrics.Leased(withEnd: true);
        if (!_leasing)
        {
            run.Stop(StopReason.Shutdown);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _leasing = false;
        await base.StopAsync(cancellationToken);
        // An attempt that ended just before may have handed its slot a task leased with its end: stop runs until none is
        // left, so that one is stopped (and given back) too.
        while (runs.Snapshot is { Count: > 0 } stopping)
        {
            foreach (var run in stopping)
            {
                run.Stop(StopReason.Shutdown);
            }

            await Task.WhenAll(stopping.Select(r => r.Completion));
        }
    }

    // What the loop checks before it leases. The ending slot is still occupied, so it is free when at most
    // MAX_CONCURRENT_AGENTS are.
    private LeaseRequest? LeaseForEndingSlot() =>
        _leasing && claim.Held && Occupied <= options.Value.MaxConcurrentAgents && gate.WhyNot() is null ? NewLease() : null;

    private LeaseRequest NewLease()
    {
        var now = time.GetUtcNow();
        return new LeaseRequest(new TaskLease(node.Instance, Guid.NewGuid().ToString("N")), now, now + options.Value.LeaseDuration);
    }

    private ActiveRun Start(AgentRecord leased)
    {
        var slot = new RunSlot(this);
        return runs.Start(leased.AgentId, async run =>
        {
            try
            {
                await runner.RunAsync(leased, run, slot);
            }
            finally
            {
                if (slot.HandedOver)
                {
                    Interlocked.Decrement(ref _handedOver); // before the run leaves the registry: the count never dips below the truth
                }
            }
        }, signal.Notify);
    }

    /// <summary>The slot one run holds; its attempt's end may hand it, once, to the next task.</summary>
    private sealed class RunSlot(AgentWorker worker) : IWorkerSlot
    {
        public bool HandedOver { get; private set; }

        public LeaseRequest? NextLease() => HandedOver ? null : worker.LeaseForEndingSlot();

        public void Run(AgentRecord leased)
        {
            HandedOver = true;
            Interlocked.Increment(ref worker._handedOver); // first, so the new run and this one never count as two slots
            worker.RunHandedOver(leased);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Recovery at start failed")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not taking work: {Reason}")]
    private static partial void LogNotLeasing(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker loop iteration failed")]
    private static partial void LogLoopFailed(ILogger logger, Exception ex);
}
