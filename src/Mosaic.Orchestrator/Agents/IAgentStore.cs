using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Agents;

public sealed record StoredChange(AgentRecord Agent, AgentEvent? Event);

/// <summary>Filter and page of <see cref="IAgentStore.ListAsync"/>; newest first.</summary>
public sealed record AgentQuery(AgentStatus? Status, string? TaskId, int Limit, int Offset);

public sealed record AgentPage(IReadOnlyList<AgentRecord> Items, int Total);

/// <summary>
/// Durable agent records. Every write is a compare-and-set on <see cref="AgentRecord.Version"/>, so two
/// writers never both win; the store bumps the version and keeps the queue indexes in step with the record.
/// </summary>
public interface IAgentStore
{
    Task<AgentRecord?> GetAsync(Guid agentId, CancellationToken cancellationToken);

    Task<AgentPage> ListAsync(AgentQuery query, CancellationToken cancellationToken);

    /// <summary>Agents in a live status (spawning, running), oldest first.</summary>
    Task<IReadOnlyList<AgentRecord>> ListLiveAsync(CancellationToken cancellationToken);

    Task<AgentRecord?> FindLiveByTaskAsync(string taskId, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the record when the stored version still equals <paramref name="expectedVersion"/> (and, when
    /// <paramref name="leaseExpiredBefore"/> is given, the stored lease expired before that instant), appending
    /// <paramref name="withEvent"/> to the event history in the same atomic step: a transition and its event are
    /// stored together or not at all. Returns what was stored (the record with its new version, the event with its
    /// id), or null when the condition failed.
    /// </summary>
    Task<StoredChange?> TryReplaceAsync(AgentRecord record, long expectedVersion, DateTimeOffset? leaseExpiredBefore, AgentEvent? withEvent, CancellationToken cancellationToken);
}
