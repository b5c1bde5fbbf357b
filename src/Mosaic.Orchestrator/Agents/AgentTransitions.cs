using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Monitor;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// The only way agent records change after enqueue: read, check the lifecycle table, compare-and-set the record
/// together with its event, then broadcast the event. A lost race re-reads and re-checks, so a kill and a completion
/// that arrive together end with exactly one winner and the loser gets <see cref="IllegalTransitionException"/>.
/// Every status change is logged with the agent and task.
/// </summary>
public sealed partial class AgentTransitions(IAgentStore store, ITaskQueue queue, AgentEvents events, BackoffPolicy backoff, TimeProvider time,
    AgentMetrics metrics, ILogger<AgentTransitions> logger)
{
    private const int MaxRaces = 16;

    /// <summary>
    /// Applies <paramref name="change"/> to the current record. With a <paramref name="fence"/>, the write only happens
    /// while that lease still holds the task (a worker that lost it cannot overwrite the new holder). A status change
    /// stores and publishes the event of the new status; <paramref name="eventType"/> names an event for a change that
    /// keeps the status (a retry, a gate verdict). <paramref name="eventData"/> builds the event's data from the new record.
    /// With <paramref name="refill"/> (an attempt's final end), the write also leases that worker slot's next task in the same
    /// store step when the slot would lease now, and hands it to the slot to run.
    /// </summary>
    public Task<AgentRecord> ChangeAsync(
        Guid agentId,
        Func<AgentRecord, AgentRecord> change,
        CancellationToken cancellationToken,
        TaskLease? fence = null,
        Func<AgentRecord, object?>? eventData = null,
        DateTimeOffset? leaseExpiredBefore = null,
        string? eventType = null,
        IWorkerSlot? refill = null) =>
        WriteAsync(agentId, change, fence, eventData, leaseExpiredBefore, eventType, ended: false, refill, cancellationToken);

    /// <summary>
    /// A note on an agent that has ended, such as where its last attempt's work was kept: its status stays (any other
    /// change of an ended agent is refused as before), with the event <paramref name="eventType"/>.
    /// </summary>
    public Task<AgentRecord> AnnotateEndedAsync(Guid agentId, Func<AgentRecord, AgentRecord> note, string eventType, Func<AgentRecord, object?> eventData,
        CancellationToken cancellationToken) =>
        WriteAsync(agentId, a => note(a) with { Status = a.Status }, null, eventData, null, eventType, ended: true, refill: null, cancellationToken);

    private async Task<AgentRecord> WriteAsync(
        Guid agentId,
        Func<AgentRecord, AgentRecord> change,
        TaskLease? fence,
        Func<AgentRecord, object?>? eventData,
        DateTimeOffset? leaseExpiredBefore,
        string? eventType,
        bool ended,
        IWorkerSlot? refill,
        CancellationToken cancellationToken)
    {
        for (var race = 0; race < MaxRaces; race++)
        {
            var current = await store.GetAsync(agentId, cancellationToken) ?? throw new AgentNotFoundException(agentId);
            if (fence is not null && current.Lease?.Token != fence.Token)
            {
                if (!current.IsLive)
                {
                    // Finished meanwhile (killed, most often): the caller's move is now illegal, say so as such.
                    AgentLifecycle.EnsureCanMove(agentId, current.Status, change(current).Status);
                }

                throw new LeaseLostException(agentId);
            }

            var next = change(current);
            if (next.Status != current.Status)
            {
                AgentLifecycle.EnsureCanMove(agentId, current.Status, next.Status);
            }
            else if (current.IsLive == ended)
            {
                // An ended agent takes notes only; a note is only for an ended agent.
                throw new IllegalTransitionException(agentId, current.Status, next.Status);
            }

            var type = next.Status != current.Status ? AgentLifecycle.EventTypeFor(next.Status) : eventType;
            var agentEvent = type is null ? null : events.Create(type, next, eventData is null ? DefaultEventData(next) : eventData(next));
            var stored = await StoreAsync(next, current.Version, leaseExpiredBefore, agentEvent, refill, cancellationToken);
            if (stored is null)
            {
                if (leaseExpiredBefore is not null)
                {
                    throw new LeaseLostException(agentId);
                }

                continue;
            }

            Log(current, stored.Agent, type);
            metrics.Changed(current, stored.Agent, type);
            return stored.Agent;
        }

        throw new InvalidOperationException($"Agent {agentId}: too many concurrent writers");
    }

    private async Task<StoredChange?> StoreAsync(AgentRecord next, long expectedVersion, DateTimeOffset? leaseExpiredBefore, AgentEvent? agentEvent,
        IWorkerSlot? refill, CancellationToken cancellationToken)
    {
        // Only a final end gives its slot up (a live agent's task may be leased again at once, its run not yet done).
        // Asked on every try: whether the slot would lease may change while a race is retried.
        if (leaseExpiredBefore is not null || next.IsLive || refill?.NextLease() is not { } request)
        {
            return await store.TryReplaceAsync(next, expectedVersion, leaseExpiredBefore, agentEvent, cancellationToken);
        }

        var both = await queue.TryReplaceAndLeaseNextAsync(next, expectedVersion, agentEvent, request, cancellationToken);
        if (both?.Next is { } leased)
        {
            refill.Run(leased); // first, before anything else can fail: the task is this slot's now
        }

        return both?.Change;
    }

    /// <summary>
    /// A transient failure of the attempt fenced by <paramref name="fence"/>: the task goes back to the queue with
    /// backoff (agent.retrying), or the agent fails once its attempts are spent. With <paramref name="leaseExpiredBefore"/>
    /// only while that lease has really expired (recovery by whoever notices).
    /// </summary>
    public Task<AgentRecord> RequeueAsync(Guid agentId, Failure failure, TaskLease fence, CancellationToken cancellationToken,
        bool chargeAttempt = true, DateTimeOffset? leaseExpiredBefore = null, DateTimeOffset? dueAt = null) =>
        ChangeAsync(agentId, a => AgentLifecycle.Requeued(a, failure, chargeAttempt, backoff, time.GetUtcNow(), dueAt), cancellationToken, fence,
            eventData: a => a.IsLive
                ? new { attempt = a.Attempt, nextAttemptAt = a.NextAttemptAt, reason = failure.Code, error = failure.Message }
                : new { reason = a.Reason, error = a.Error, attempt = a.Attempt },
            leaseExpiredBefore: leaseExpiredBefore,
            eventType: AgentEventTypes.Retrying);

    private static object? DefaultEventData(AgentRecord agent) => agent.Status switch
    {
        AgentStatus.Running => new { attempt = agent.Attempt },
        AgentStatus.Completed => new { attempt = agent.Attempt, exitCode = agent.ExitCode },
        AgentStatus.Failed when agent.SecretFindings is { Count: > 0 } findings =>
            new { reason = agent.Reason, error = agent.Error, attempt = agent.Attempt, secretFindings = findings },
        AgentStatus.Failed or AgentStatus.Killed => new { reason = agent.Reason, error = agent.Error, attempt = agent.Attempt },
        _ => null,
    };

    private void Log(AgentRecord before, AgentRecord after, string? eventType)
    {
        if (after.Status != before.Status)
        {
            switch (after.Status)
            {
                case AgentStatus.Running:
                    LogStarted(logger, after.AgentId, after.TaskId, after.Attempt, after.Branch);
                    break;
                case AgentStatus.Completed:
                    LogCompleted(logger, after.AgentId, after.TaskId, after.Attempt, after.Pushed ? after.Branch : null);
                    break;
                case AgentStatus.Failed:
                    LogFailed(logger, after.AgentId, after.TaskId, after.Reason, after.Error);
                    break;
                case AgentStatus.Killed:
                    LogKilled(logger, after.AgentId, after.TaskId, after.Error);
                    break;
            }
        }
        else if (eventType == AgentEventTypes.Retrying)
        {
            LogRetrying(logger, after.AgentId, after.TaskId, after.Reason, after.NextAttemptAt);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} (task {TaskId}) started attempt {Attempt} on branch {Branch}")]
    private static partial void LogStarted(ILogger logger, Guid agentId, string taskId, int attempt, string? branch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} (task {TaskId}) completed after {Attempt} attempt(s); pushed {Branch}")]
    private static partial void LogCompleted(ILogger logger, Guid agentId, string taskId, int attempt, string? branch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId} (task {TaskId}) failed: {Reason}: {Error}")]
    private static partial void LogFailed(ILogger logger, Guid agentId, string taskId, string? reason, string? error);

    // A kill's error reads "killed by <actor>: <reason>".
    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} (task {TaskId}) {Error}")]
    private static partial void LogKilled(ILogger logger, Guid agentId, string taskId, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} (task {TaskId}) will retry ({Reason}) at {NextAttemptAt}")]
    private static partial void LogRetrying(ILogger logger, Guid agentId, string taskId, string? reason, DateTimeOffset? nextAttemptAt);
}
