using Mosaic.Orchestrator.Agents.Steps;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Runs one leased attempt: its steps (<see cref="AttemptPipeline"/>), then its end on the record, then cleanup.
/// This is the attempt's boundary: whatever broke inside is logged here once and ends the attempt as a failure.
/// At this point the task may have run before (delivery is at least once); a retry starts from a fresh workspace.
/// </summary>
public sealed partial class AgentRunner(LeasedAttempts attempts, AttemptPipeline pipeline, WipKeeper wip, IAgentStore store, AgentCleanup cleanup, ILogger<AgentRunner> logger)
{
    /// <param name="leased">The task as leased.</param>
    /// <param name="run">Its run in this instance.</param>
    /// <param name="slot">The worker slot this attempt holds: its end may lease the slot's next task (null: it does not).</param>
    public async Task RunAsync(AgentRecord leased, ActiveRun run, IWorkerSlot? slot = null)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["AgentId"] = leased.AgentId, ["TaskId"] = leased.TaskId });
        Failure? failure = null;
        Exception? crash = null;
        IReadOnlyList<int> stopped = [];
        AgentRecord? ended;
        await using (var attempt = attempts.Begin(leased, run, slot))
        {
            try
            {
                run.Token.ThrowIfCancellationRequested(); // stopped before it began (a worker that stops as it hands a task over)
                await pipeline.RunAsync(attempt);
            }
            catch (OperationCanceledException ex) when (run.Reason is not null)
            {
                // Stopped from outside; the reason decides the end. The processes the stop ended count in agent.cleanup.
                stopped = (ex as ProcessesStoppedException)?.SignalledPids ?? [];
            }
            catch (IllegalTransitionException)
            {
                run.Stop(StopReason.Killed); // the record reached an end while we worked: a kill
            }
            catch (LeaseLostException)
            {
                run.Stop(StopReason.LeaseLost);
            }
            catch (AttemptFailedException ex)
            {
                failure = ex.ToFailure();
            }
            catch (Exception ex) when (Storage.StoreFailures.Describe(ex) is { Status: StatusCodes.Status503ServiceUnavailable } unavailable)
            {
                // Not a bug of the attempt: the store was away (a redis-server restart). The task goes back to the
                // queue; it ended as internal-error before, and five of thirty tasks were lost that way in the fault suite.
                failure = new Failure(FailureReason.StoreUnavailable, unavailable.Detail);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                crash = ex;
                LogAttemptCrashed(logger, ex, leased.AgentId);
            }

            // Work never lost: an attempt that ended badly keeps what it did on its WIP branch before its end is written.
            // Not after a lost lease: the task may be another instance's now, and so is its WIP branch. Not after a full
            // disk either: committing what filled the disk would write it a second time, into the repository cache.
            if ((failure is not null || crash is not null || run.Reason is not null) && run.Reason is not (StopReason.LeaseLost or StopReason.DiskFull))
            {
                await wip.KeepAsync(attempt);
            }

            try
            {
                ended = await attempt.EndAsync(failure, crash) ?? await store.GetAsync(leased.AgentId, CancellationToken.None) ?? leased;
            }
            catch (Exception ex)
            {
                // The store failed while writing the end: the lease expires and recovery settles the task.
                LogSettleFailed(logger, ex, leased.AgentId);
                return;
            }
        }

        try
        {
            // Another holder may own a requeued task now; its workspace is then not ours to remove.
            if (!ended.IsLive || ended.Lease is null)
            {
                // A normal end has already ended its tree; after a kill or a crash, look again by marker.
                var lookAgain = run.Reason is StopReason.Killed or StopReason.DiskFull || crash is not null;
                await cleanup.RunAsync(ended, endProcesses: lookAgain, publish: !ended.IsLive, CancellationToken.None, stopped);
            }
        }
        catch (Exception ex)
        {
            LogCleanupFailed(logger, ex, leased.AgentId);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Attempt of agent {AgentId} crashed")]
    private static partial void LogAttemptCrashed(ILogger logger, Exception ex, Guid agentId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing the end of agent {AgentId}'s attempt failed; its lease will expire and be recovered")]
    private static partial void LogSettleFailed(ILogger logger, Exception ex, Guid agentId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cleanup after agent {AgentId}'s attempt failed")]
    private static partial void LogCleanupFailed(ILogger logger, Exception ex, Guid agentId);
}
