namespace Mosaic.Orchestrator.Agents;

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
    /// <paramref name="leaseExpiredBefore"/> is given, the stored lease expired before that instant).
    /// Returns the stored record with its new version, or null when the condition failed.
    /// </summary>
    Task<AgentRecord?> TryReplaceAsync(AgentRecord record, long expectedVersion, DateTimeOffset? leaseExpiredBefore, CancellationToken cancellationToken);
}
