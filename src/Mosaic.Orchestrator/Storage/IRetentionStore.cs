using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Storage;

/// <summary>
/// What the retention sweep removes from a store: agents that ended long ago (never a live one) and old events. The
/// audit trail is kept. Deleting is idempotent, so several instances sweeping at once is harmless.
/// </summary>
public interface IRetentionStore
{
    /// <summary>Agents that ended (completed, failed, killed) before <paramref name="cutoff"/>, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<AgentRecord>> ListEndedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes these agents' records and index entries, skipping any that is live; returns how many went.</summary>
    Task<int> DeleteEndedAsync(IReadOnlyList<Guid> agentIds, CancellationToken cancellationToken);

    /// <summary>Deletes the events published before <paramref name="cutoff"/>; returns how many went.</summary>
    Task<long> DeleteEventsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);
}
