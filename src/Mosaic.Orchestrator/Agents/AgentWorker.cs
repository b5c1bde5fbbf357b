using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// The worker loop: recover orphans once, then lease due tasks while fewer than MAX_CONCURRENT_AGENTS run here,
/// and sleep until a signal or the poll interval. Shutdown order: stop leasing, stop every run (its task goes back
/// to the queue without spending an attempt), wait for the runs to settle.
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
    IOptions<OrchestratorOptions> options,
    TimeProvider time,
    ILogger<AgentWorker> logger) : BackgroundService
{
    private long _passes;

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

                while (blocked is null && claim.Held && runs.Count < settings.MaxConcurrentAgents)
                {
                    var now = time.GetUtcNow();
                    var lease = new TaskLease(node.Instance, Guid.NewGuid().ToString("N"));
                    var leased = await queue.LeaseNextAsync(lease, now, now + settings.LeaseDuration, stoppingToken);
                    if (leased is null)
                    {
                        break;
                    }

                    runs.Start(leased.AgentId, run => runner.RunAsync(leased, run), signal.Notify);
                }
            }
            catch (ObjectDisposedException)
            {
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
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var stopping = runs.Snapshot;
        foreach (var run in stopping)
        {
            run.Stop(StopReason.Shutdown);
        }

        await Task.WhenAll(stopping.Select(r => r.Completion));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Recovery at start failed")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not taking work: {Reason}")]
    private static partial void LogNotLeasing(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker loop iteration failed")]
    private static partial void LogLoopFailed(ILogger logger, Exception ex);
}
