using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// Agents, their tasks and the queue in Valkey, shared by every instance. Each record is the JSON at
/// {prefix}:agent:{id} (SPEC), and its meta (version, status, task state, lease) a packed field of {prefix}:meta that
/// the scripts read instead of parsing JSON. Each task's state ({prefix}:task:{taskId}, SPEC) names its live (else
/// latest) agent, and is what the one-live-agent-per-task check reads. The queue is sorted sets under
/// {prefix}:queue:*: pending (score = (10 - priority) * 2^43 + arrival), delayed (score = due time), leases (score =
/// lease expiry), plus the pause flag and the last instance refused a lease for MAX_CONCURRENT_AGENTS (so that an end
/// that leases the next task leaves it the cluster's last free slot); counts are the sizes of these sets and of the
/// status indexes. Every change that spans keys is one Lua script (Scripts/), so a transition, its index moves and its
/// event are applied together or not at all; spawns and ends made at the same moment share a script call
/// (ValkeyBatchedScript). Reads that span keys run in one MULTI, so they see one moment.
/// </summary>
public sealed class ValkeyAgentStore(ValkeyConnection valkey, int maxActiveAgents) : IAgentStore, ITaskQueue, IQueueAdmin
{
    // Spawns and worker slots' ends that come together go to the server together (see ValkeyBatchedScript).
    private readonly ValkeyBatchedScript _enqueue = new(valkey, ValkeyScripts.EnqueueMany, EnqueueWidth);
    private readonly ValkeyBatchedScript _endAndLease = new(valkey, ValkeyScripts.EndAndLeaseMany, EndAndLeaseWidth);

    public async Task<AgentRecord?> GetAsync(Guid agentId, CancellationToken cancellationToken)
    {
        var doc = await valkey.Database.StringGetAsync(AgentKey(agentId));
        return doc.IsNull ? null : ValkeyDocuments.Record(doc.ToString());
    }

    public async Task<AgentPage> ListAsync(AgentQuery query, CancellationToken cancellationToken)
    {
        var db = valkey.Database;
        if (query.TaskId is { } taskId)
        {
            // A task has few agents: read them all and filter by status here.
            var ofTask = await ReadAllAsync(await db.SortedSetRangeByRankAsync(valkey.Key("index:task", taskId), order: Order.Descending));
            var matching = ofTask.Where(a => query.Status is null || a.Status == query.Status).ToList();
            return new AgentPage([.. matching.Skip(query.Offset).Take(query.Limit)], matching.Count);
        }

        var index = query.Status is { } status ? valkey.Key("index:status", ValkeyDocuments.Name(status)) : valkey.Key("index:all");
        var read = db.CreateTransaction();
        var total = read.SortedSetLengthAsync(index);
        var ids = read.SortedSetRangeByRankAsync(index, query.Offset, query.Offset + query.Limit - 1L, Order.Descending);
        await read.ExecuteAsync();
        return new AgentPage(await ReadAllAsync(await ids), (int)await total);
    }

    public async Task<IReadOnlyList<AgentRecord>> ListLiveAsync(CancellationToken cancellationToken)
    {
        // The live statuses' indexes, read at one moment (an agent moving between them is seen once; kill-all relies
        // on it), merged by arrival (their score).
        var read = valkey.Database.CreateTransaction();
        var spawning = read.SortedSetRangeByRankWithScoresAsync(valkey.Key("index:status", "spawning"));
        var running = read.SortedSetRangeByRankWithScoresAsync(valkey.Key("index:status", "running"));
        await read.ExecuteAsync();
        var live = (await spawning).Concat(await running).OrderBy(e => e.Score).Select(e => e.Element).ToArray();
        return await ReadAllAsync(live);
    }

    // The task's view names its latest agent, which is its live one if it has one.
    public async Task<AgentRecord?> FindLiveByTaskAsync(string taskId, CancellationToken cancellationToken)
    {
        var view = await valkey.Database.StringGetAsync(valkey.Key("task", taskId));
        if (view.IsNull)
        {
            return null;
        }

        using var task = JsonDocument.Parse(view.ToString());
        var agentId = task.RootElement.GetProperty("agentId").GetGuid();
        return await GetAsync(agentId, cancellationToken) is { IsLive: true } live ? live : null;
    }

    public async Task<StoredChange?> TryReplaceAsync(AgentRecord record, long expectedVersion, DateTimeOffset? leaseExpiredBefore, AgentEvent? withEvent, CancellationToken cancellationToken)
    {
        var result = await valkey.RunAsync(ValkeyScripts.Replace, ReplaceArgs(record, expectedVersion, leaseExpiredBefore, withEvent));
        return result.IsNull ? null : Stored(record, withEvent, (RedisResult[])result!);
    }

    public async Task<ReplacedAndLeased?> TryReplaceAndLeaseNextAsync(AgentRecord record, long expectedVersion, AgentEvent? withEvent, LeaseRequest next, CancellationToken cancellationToken)
    {
        var result = await _endAndLease.RunAsync([.. ReplaceArgs(record, expectedVersion, null, withEvent), .. LeaseArgs(next)]);
        if (result.IsNull)
        {
            return null;
        }

        var parts = (RedisResult[])result!;
        return new ReplacedAndLeased(Stored(record, withEvent, parts), parts[2].IsNull ? null : ValkeyDocuments.Record((string)parts[2]!));
    }

    // The arguments of one entry of end_lease_many.lua: replace's, then the next lease's.
    private const int EndAndLeaseWidth = 20;

    private static RedisValue[] ReplaceArgs(AgentRecord record, long expectedVersion, DateTimeOffset? leaseExpiredBefore, AgentEvent? withEvent) =>
    [
        Id(record.AgentId), expectedVersion, ValkeyConnection.Millis(leaseExpiredBefore),
        ValkeyDocuments.Name(record.Status), ValkeyDocuments.Name(record.TaskState), record.Priority, ValkeyConnection.Millis(record.NextAttemptAt),
        record.Attempt, record.Lease?.Token ?? "", record.Lease?.Owner ?? "", RedisValue.EmptyString,
        ValkeyDocuments.Body(record), ValkeyDocuments.QueueFragment(record), withEvent is null ? "" : ValkeyDocuments.EventBody(withEvent),
    ];

    private RedisValue[] LeaseArgs(LeaseRequest request) =>
    [
        ValkeyConnection.Millis(request.Now), ValkeyConnection.Millis(request.ExpiresAt), maxActiveAgents,
        request.Lease.Owner, request.Lease.Token, ValkeyDocuments.LeaseJson(request.Lease),
    ];

    private static StoredChange Stored(AgentRecord record, AgentEvent? withEvent, RedisResult[] parts) =>
        new(record with { Version = (long)parts[0] }, withEvent is null ? null : withEvent with { Id = (long)parts[1] });

    public async Task<EnqueueResult> EnqueueAsync(AgentRecord agent, long maxWaiting, AgentEvent spawned, CancellationToken cancellationToken) =>
        Enqueued(agent, spawned, (RedisResult[])(await _enqueue.RunAsync(EnqueueArguments(agent, spawned, maxWaiting)))!);

    /// <summary>The most entries one enqueue_many call carries: a script holds the server while it runs.</summary>
    public const int EntriesPerScript = 100;

    // One script call per chunk of entries (enqueue_many.lua), the chunks one after the other, so each entry is
    // decided in order exactly as by one enqueue per entry, for a round trip per hundred entries instead of one each.
    // An entry the script failed (its error reply) fails the whole call, after the chunk: the entries before it and
    // after it in that chunk are stored.
    public async Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync(IReadOnlyList<(AgentRecord Agent, AgentEvent Spawned)> entries, long maxWaiting, CancellationToken cancellationToken)
    {
        var results = new List<EnqueueResult>(entries.Count);
        foreach (var chunk in entries.Chunk(EntriesPerScript))
        {
            RedisValue[] arguments = [.. chunk.SelectMany(e => EnqueueArguments(e.Agent, e.Spawned, maxWaiting))];
            var replies = (RedisResult[])(await valkey.RunAsync(ValkeyScripts.EnqueueMany, arguments))!;
            results.AddRange(chunk.Select((e, i) => Enqueued(e.Agent, e.Spawned,
                (RedisResult[])(ValkeyBatchedScript.Reply(replies, i) ?? throw ValkeyBatchedScript.EntryFailed(replies, i))!)));
        }

        return results;
    }

    // The arguments of one entry of enqueue_many.lua.
    private const int EnqueueWidth = 11;

    private static RedisValue[] EnqueueArguments(AgentRecord agent, AgentEvent spawned, long maxWaiting) =>
    [
        Id(agent.AgentId), agent.TaskId, ValkeyDocuments.Name(agent.Status), ValkeyDocuments.Name(agent.TaskState), agent.Priority,
        ValkeyConnection.Millis(agent.NextAttemptAt), agent.Attempt,
        ValkeyDocuments.Body(agent), ValkeyDocuments.QueueFragment(agent), ValkeyDocuments.EventBody(spawned), maxWaiting,
    ];

    private static EnqueueResult Enqueued(AgentRecord agent, AgentEvent spawned, RedisResult[] parts) => (string?)parts[0] switch
    {
        "dup" => new EnqueueResult(EnqueueOutcome.DuplicateLiveTask, null, Guid.Parse((string)parts[1]!)),
        "full" => new EnqueueResult(EnqueueOutcome.QueueFull, null, Waiting: (long)parts[1]),
        _ => new EnqueueResult(EnqueueOutcome.Enqueued, agent with { Sequence = (long)parts[1], Version = 1 },
            Waiting: (long)parts[3], Event: spawned with { Id = (long)parts[2] }),
    };

    /// <summary>
    /// Leases the best due task, cluster-wide: the script refuses while the queue is paused or while
    /// <c>maxActiveAgents</c> tasks are leased (assigned or executing) across all instances.
    /// </summary>
    public async Task<AgentRecord?> LeaseNextAsync(TaskLease lease, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var result = await valkey.RunAsync(ValkeyScripts.Lease, LeaseArgs(new LeaseRequest(lease, now, expiresAt)));
        return result.IsNull ? null : ValkeyDocuments.Record((string)result!);
    }

    public async Task<bool> RenewLeaseAsync(Guid agentId, string token, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        (long)await valkey.RunAsync(ValkeyScripts.Renew, Id(agentId), token, ValkeyConnection.Millis(expiresAt)) == 1;

    public async Task<IReadOnlyList<AgentRecord>> ListExpiredLeasesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ids = await valkey.Database.SortedSetRangeByScoreAsync(valkey.Key("queue:leases"), double.NegativeInfinity, now.ToUnixTimeMilliseconds(), Exclude.Stop);
        var expired = await ReadAllAsync(ids);
        return [.. expired.Where(a => a.Lease is not null).OrderBy(a => a.Sequence)];
    }

    public async Task<QueueStats> GetStatsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var values = (RedisResult[])(await valkey.RunAsync(ValkeyScripts.Stats, ValkeyConnection.Millis(now)))!;
        return new QueueStats((long)values[0], (long)values[1], (long)values[2], (long)values[3], (long)values[4], (long)values[5], (long)values[6] == 1, (long)values[7] == 1);
    }

    public async Task SetPausedAsync(bool paused, CancellationToken cancellationToken)
    {
        var key = valkey.Key("queue:paused");
        _ = paused ? await valkey.Database.StringSetAsync(key, "1") : await valkey.Database.KeyDeleteAsync(key);
    }

    public Task<bool> IsPausedAsync(CancellationToken cancellationToken) => valkey.Database.KeyExistsAsync(valkey.Key("queue:paused"));

    public async Task SetEmergencyStopAsync(bool stopped, CancellationToken cancellationToken)
    {
        var key = valkey.Key("queue:emergency");
        _ = stopped ? await valkey.Database.StringSetAsync(key, "1") : await valkey.Database.KeyDeleteAsync(key);
    }

    public Task<bool> IsEmergencyStoppedAsync(CancellationToken cancellationToken) => valkey.Database.KeyExistsAsync(valkey.Key("queue:emergency"));

    private async Task<List<AgentRecord>> ReadAllAsync(RedisValue[] ids)
    {
        if (ids.Length == 0)
        {
            return [];
        }

        var docs = await valkey.Database.StringGetAsync([.. ids.Select(id => valkey.Key("agent", id.ToString()))]);
        // A record deleted meanwhile (retention) is left out.
        return [.. docs.Where(d => !d.IsNull).Select(d => ValkeyDocuments.Record(d.ToString()))];
    }

    private RedisKey AgentKey(Guid agentId) => valkey.Key("agent", Id(agentId));

    private static string Id(Guid agentId) => agentId.ToString("D");
}
