using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Queue;

public enum EnqueueOutcome { Enqueued, DuplicateLiveTask, QueueFull }

/// <summary>A lease to take the next task with: its holder and token, the instant of the look and when the lease expires.</summary>
public sealed record LeaseRequest(TaskLease Lease, DateTimeOffset Now, DateTimeOffset ExpiresAt);

/// <summary>What <see cref="ITaskQueue.TryReplaceAndLeaseNextAsync"/> stored: the ended attempt's record and event, and the next task leased with it (null when none was).</summary>
public sealed record ReplacedAndLeased(StoredChange Change, AgentRecord? Next);

public sealed record EnqueueResult(EnqueueOutcome Outcome, AgentRecord? Agent, Guid? ExistingAgentId = null, long Waiting = 0, AgentEvent? Event = null);

/// <summary>
/// Tasks by where they stand (a killed agent's task counts as killed, not failed); whether leasing is paused, and
/// whether an emergency stop refuses every push. The API adds why this instance leases nothing now (the store, the disk,
/// a spent daily budget, a rate-limit park) and the model account's day: spent so far and the budget.
/// </summary>
public sealed record QueueStats(long Pending, long Active, long Completed, long Failed, long Killed, long Delayed, bool Paused, bool EmergencyStop = false)
{
    /// <summary>Why no agent starts now, though tasks wait (null: agents start as slots free up).</summary>
    public string? NotLeasing { get; init; }

    /// <summary>The model gateway's spend today (UTC), the whole cluster's with Valkey.</summary>
    public double? SpentTodayUsd { get; init; }

    public double? DailyMaxCostUsd { get; init; }

    /// <summary>Until when a rate limit of the model API parks the queue.</summary>
    public DateTimeOffset? RateLimitedUntil { get; init; }
}

/// <summary>
/// The task queue: priority 10 first, FIFO within a priority, due times for delayed retries, leases that a
/// heartbeat renews. Delivery is at least once: a task whose lease expires goes back to the queue and may run
/// again, but the lease token fences the old holder so it can no longer write.
/// </summary>
public interface ITaskQueue
{
    /// <summary>
    /// Stores a new agent, queues its task and appends its agent.spawned event in one step, refusing a second live
    /// agent for the task and a full queue.
    /// </summary>
    Task<EnqueueResult> EnqueueAsync(AgentRecord agent, long maxWaiting, AgentEvent spawned, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="EnqueueAsync"/> for each entry, in order, each with its own outcome (an earlier entry of the same
    /// task makes a later one a duplicate; the queue can fill part-way). A backend may store them in one step.
    /// </summary>
    Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync(IReadOnlyList<(AgentRecord Agent, AgentEvent Spawned)> entries, long maxWaiting, CancellationToken cancellationToken);

    /// <summary>Takes the next due task (none while paused): sets its lease, counts the attempt, marks it assigned.</summary>
    Task<AgentRecord?> LeaseNextAsync(TaskLease lease, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>
    /// An attempt's end and its worker slot's next task in one step (BullMQ's worker does the same: it saves a store
    /// round trip per task). First the compare-and-set of <see cref="IAgentStore.TryReplaceAsync"/> (same condition,
    /// same event); only when that was stored, <see cref="LeaseNextAsync"/> with <paramref name="next"/> under the same
    /// rules (pause, priority, FIFO, due times, MAX_CONCURRENT_AGENTS, attempt counting). Null when the compare-and-set
    /// failed: then nothing was written and nothing leased. The caller owns a leased next task: it must run it or give
    /// it back.
    /// </summary>
    Task<ReplacedAndLeased?> TryReplaceAndLeaseNextAsync(AgentRecord record, long expectedVersion, AgentEvent? withEvent, LeaseRequest next, CancellationToken cancellationToken);

    /// <summary>Extends a lease; false when the token no longer holds it (the caller must stop).</summary>
    Task<bool> RenewLeaseAsync(Guid agentId, string token, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Live agents whose lease expired before <paramref name="now"/>.</summary>
    Task<IReadOnlyList<AgentRecord>> ListExpiredLeasesAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>Operator controls of the queue.</summary>
public interface IQueueAdmin
{
    Task<QueueStats> GetStatsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    Task SetPausedAsync(bool paused, CancellationToken cancellationToken);

    Task<bool> IsPausedAsync(CancellationToken cancellationToken);

    /// <summary>The emergency stop's flag: while set, no agent's branch is pushed (shared by every instance).</summary>
    Task SetEmergencyStopAsync(bool stopped, CancellationToken cancellationToken);

    Task<bool> IsEmergencyStoppedAsync(CancellationToken cancellationToken);
}
