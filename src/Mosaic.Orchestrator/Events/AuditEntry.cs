namespace Mosaic.Orchestrator.Events;

/// <summary>Who did what to which agent, and why: kills, skipped gates, recoveries.</summary>
public sealed record AuditEntry(
    string Action,
    string Actor,
    Guid? AgentId,
    string? TaskId,
    string? Reason,
    string? PriorStatus,
    DateTimeOffset Timestamp);

/// <summary>One page of the audit log and how many entries it holds in all.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, long Total);

public interface IAuditStore
{
    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken);

    /// <summary>Newest first: the entries after skipping <paramref name="offset"/>, and the count of all, read at one moment.</summary>
    Task<AuditPage> ListAsync(int limit, int offset, CancellationToken cancellationToken);
}
