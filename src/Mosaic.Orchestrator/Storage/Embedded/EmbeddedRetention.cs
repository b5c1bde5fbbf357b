using System.Globalization;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Storage.Embedded;

/// <summary>
/// Retention on the SQLite store. End and publish times live in the JSON documents; SQLite's julianday() reads their
/// ISO-8601 form with its offset, so the comparison is by instant. Events are deleted oldest first in batches (ids grow
/// with time), so one sweep never holds the single writer for long.
/// </summary>
public sealed class EmbeddedRetention(SqliteDatabase database) : IRetentionStore
{
    private const int EventBatch = 5000;

    public Task<IReadOnlyList<AgentRecord>> ListEndedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken) =>
        database.RunAsync<IReadOnlyList<AgentRecord>>(c =>
        [
            .. c.Strings("""
                SELECT doc FROM agents WHERE status IN ('completed', 'failed', 'killed')
                AND julianday(json_extract(doc, '$.completedAt')) < julianday($cutoff) ORDER BY seq LIMIT $limit
                """, ("$cutoff", Iso(cutoff)), ("$limit", limit))
                .Select(doc => JsonSerializer.Deserialize<AgentRecord>(doc, OrchestratorJson.Options)!),
        ], cancellationToken);

    public Task<int> DeleteEndedAsync(IReadOnlyList<Guid> agentIds, CancellationToken cancellationToken) =>
        database.RunAsync(c => agentIds.Sum(id =>
            c.Execute("DELETE FROM agents WHERE agent_id = $id AND status IN ('completed', 'failed', 'killed')", ("$id", id.ToString()))), cancellationToken);

    public async Task<long> DeleteEventsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        long deleted = 0;
        int batch;
        do
        {
            batch = await database.RunAsync(c => c.Execute($"""
                DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT {EventBatch})
                AND julianday(json_extract(doc, '$.timestamp')) < julianday($cutoff)
                """, ("$cutoff", Iso(cutoff))), cancellationToken);
            deleted += batch;
        }
        while (batch == EventBatch);

        return deleted;
    }

    private static string Iso(DateTimeOffset instant) => instant.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
}
