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

public interface IAuditStore
{
    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAsync(int limit, CancellationToken cancellationToken);
}
