using Mosaic.Orchestrator.Agents;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// Retention on Valkey. Ended agents are found through the status indexes (scored by arrival, so each record's end
/// time is read and compared here) and deleted by one script per batch; events are trimmed from the head of the
/// history stream, whose entries grow in time with their ids.
/// </summary>
public sealed class ValkeyRetention(ValkeyConnection valkey) : IRetentionStore
{
    private const int Page = 500;

    public async Task<IReadOnlyList<AgentRecord>> ListEndedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken)
    {
        var found = new List<AgentRecord>();
        foreach (var status in new[] { AgentStatus.Completed, AgentStatus.Failed, AgentStatus.Killed })
        {
            var index = valkey.Key("index:status", ValkeyDocuments.Name(status));
            for (long start = 0; found.Count < limit; start += Page)
            {
                var ids = await valkey.Database.SortedSetRangeByRankAsync(index, start, start + Page - 1);
                if (ids.Length == 0)
                {
                    break;
                }

                var docs = await valkey.Database.StringGetAsync([.. ids.Select(id => valkey.Key("agent", id.ToString()))]);
                found.AddRange(docs.Where(d => !d.IsNull).Select(d => ValkeyDocuments.Record(d.ToString()))
                    .Where(a => a.CompletedAt < cutoff).Take(limit - found.Count));
            }
        }

        return [.. found.OrderBy(a => a.Sequence)];
    }

    public async Task<int> DeleteEndedAsync(IReadOnlyList<Guid> agentIds, CancellationToken cancellationToken) =>
        agentIds.Count == 0 ? 0 : (int)await valkey.RunAsync(ValkeyScripts.Purge, [.. agentIds.Select(id => (RedisValue)id.ToString())]);

    public async Task<long> DeleteEventsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var log = valkey.Key("events:log");
        RedisValue? keepFrom = null;
        var from = "-";
        while (keepFrom is null)
        {
            var entries = await valkey.Database.StreamRangeAsync(log, from, "+", Page);
            if (entries.Length == 0)
            {
                break;
            }

            var first = entries.FirstOrDefault(e => ValkeyDocuments.Event(e["e"].ToString()).Timestamp >= cutoff);
            if (!first.IsNull)
            {
                keepFrom = first.Id;
            }

            from = "(" + entries[^1].Id;
        }

        // Everything older is trimmed; when every event is older, the whole history goes (the id counter stays).
        return keepFrom is { } id
            ? await valkey.Database.StreamTrimByMinIdAsync(log, id)
            : await valkey.Database.StreamTrimAsync(log, 0);
    }
}
