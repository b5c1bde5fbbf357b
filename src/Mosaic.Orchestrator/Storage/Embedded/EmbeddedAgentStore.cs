using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Data.Sqlite;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Storage.Embedded;

/// <summary>
/// Agents, their tasks and the queue in one SQLite table: the record is a JSON document and the queue reads
/// indexed columns derived from it (status, task state, priority, arrival, due time, lease), written together.
/// </summary>
public sealed class EmbeddedAgentStore(SqliteDatabase database, IEventSink events) : IAgentStore, ITaskQueue, IQueueAdmin
{
    // This process is the file's only writer, so the pause flag can be read from memory after the first look; a
    // worker woken by every spawn then asks the database nothing while the queue is paused.
    private bool? _paused;
    private long? _lastSequence;

    private const string LiveStatuses = "('spawning', 'running')";
    private const int SqliteConstraintError = 19;

    public Task<AgentRecord?> GetAsync(Guid agentId, CancellationToken cancellationToken) =>
        database.RunAsync(c => ReadOne(c, "SELECT doc FROM agents WHERE agent_id = $id", ("$id", Key(agentId))), cancellationToken);

    public Task<AgentPage> ListAsync(AgentQuery query, CancellationToken cancellationToken) =>
        database.RunAsync(c =>
        {
            var where = "WHERE ($status IS NULL OR status = $status) AND ($task IS NULL OR task_id = $task)";
            (string, object?)[] filter = [("$status", query.Status is { } s ? Name(s) : null), ("$task", query.TaskId)];
            var total = c.Scalar($"SELECT COUNT(*) FROM agents {where}", filter);
            var docs = c.Strings($"SELECT doc FROM agents {where} ORDER BY seq DESC LIMIT $limit OFFSET $offset",
                [.. filter, ("$limit", query.Limit), ("$offset", query.Offset)]);
            return new AgentPage([.. docs.Select(Deserialize)], (int)total);
        }, cancellationToken);

    public Task<IReadOnlyList<AgentRecord>> ListLiveAsync(CancellationToken cancellationToken) =>
        database.RunAsync<IReadOnlyList<AgentRecord>>(c =>
            [.. c.Strings($"SELECT doc FROM agents WHERE status IN {LiveStatuses} ORDER BY seq").Select(Deserialize)], cancellationToken);

    public Task<AgentRecord?> FindLiveByTaskAsync(string taskId, CancellationToken cancellationToken) =>
        database.RunAsync(c => ReadOne(c, $"SELECT doc FROM agents WHERE task_id = $task AND status IN {LiveStatuses}", ("$task", taskId)), cancellationToken);

    public Task<StoredChange?> TryReplaceAsync(AgentRecord record, long expectedVersion, DateTimeOffset? leaseExpiredBefore, AgentEvent? withEvent, CancellationToken cancellationToken) =>
        database.RunAsync(c => Replace(c, record, expectedVersion, leaseExpiredBefore, newLeaseExpiry: null) is { } stored
            ? new StoredChange(stored, withEvent is null ? null : EmbeddedEventHistory.Append(c, withEvent, events))
            : null, cancellationToken);

    public Task<EnqueueResult> EnqueueAsync(AgentRecord agent, long maxWaiting, AgentEvent spawned, CancellationToken cancellationToken) =>
        database.RunAsync(c => Enqueue(c, agent, maxWaiting, spawned), cancellationToken);

    // One operation, so one transaction and one commit for the whole batch: a refused entry (duplicate, full) writes
    // nothing and does not stop the next; a failing statement that is not a refusal fails the whole batch.
    public Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync(IReadOnlyList<(AgentRecord Agent, AgentEvent Spawned)> entries, long maxWaiting, CancellationToken cancellationToken) =>
        database.RunAsync<IReadOnlyList<EnqueueResult>>(c => EnqueueMany(c, entries, maxWaiting), cancellationToken);

    /// <summary>
    /// The batch decided in memory, then written with multi-row INSERTs: the queue's length is read once and counted
    /// on, and the live agents of the batch's tasks are read in one query, each queued entry added to them, so an
    /// earlier entry of a task makes a later one a duplicate exactly as one-by-one enqueues would. Nothing else
    /// writes while this operation runs (one connection), so what was read stays true until the commit, and no
    /// INSERT can meet the unique index of live tasks.
    /// </summary>
    private EnqueueResult[] EnqueueMany(SqliteSession c, IReadOnlyList<(AgentRecord Agent, AgentEvent Spawned)> entries, long maxWaiting)
    {
        var waiting = c.Scalar("SELECT COALESCE(SUM(n), 0) FROM task_counts WHERE task_state = 'pending'");
        var live = LiveAgentsOf(c, entries.Select(e => e.Agent.TaskId));
        var sequence = _lastSequence ??= c.Scalar("SELECT COALESCE(MAX(seq), 0) FROM agents");
        var results = new EnqueueResult[entries.Count];
        var queued = new List<(int Index, AgentRecord Stored, AgentEvent Spawned)>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var (agent, spawned) = entries[i];
            if (live.TryGetValue(agent.TaskId, out var existing))
            {
                results[i] = new EnqueueResult(EnqueueOutcome.DuplicateLiveTask, null, existing);
            }
            else if (waiting >= maxWaiting)
            {
                results[i] = new EnqueueResult(EnqueueOutcome.QueueFull, null, Waiting: waiting);
            }
            else
            {
                var stored = agent with { Sequence = ++sequence, Version = 1 };
                _lastSequence = sequence;
                live[agent.TaskId] = agent.AgentId;
                waiting++;
                results[i] = new EnqueueResult(EnqueueOutcome.Enqueued, stored, Waiting: waiting);
                queued.Add((i, stored, spawned));
            }
        }

        using var json = new Utf8JsonBuffer();
        c.InsertRows("agents", AgentColumns, queued.Count, (row, i) =>
        {
            var stored = queued[i].Stored;
            row.Set(0, stored.Sequence);
            row.Set(1, Key(stored.AgentId));
            row.Set(2, stored.TaskId);
            row.Set(3, Name(stored.Status));
            row.Set(4, Name(stored.TaskState));
            row.Set(5, stored.Priority);
            row.Set(6, DueAt(stored));
            row.Set(7, 1);
            row.SetUtf8(8, json.Write(stored, RecordJson));
        });
        var appended = EmbeddedEventHistory.AppendMany(c, [.. queued.Select(q => q.Spawned)], events, json);
        for (var i = 0; i < queued.Count; i++)
        {
            results[queued[i].Index] = results[queued[i].Index] with { Event = appended[i] };
        }

        return results;
    }

    private static readonly string[] AgentColumns = ["seq", "agent_id", "task_id", "status", "task_state", "priority", "due_at", "version", "doc"];

    private static readonly JsonTypeInfo<AgentRecord> RecordJson = (JsonTypeInfo<AgentRecord>)OrchestratorJson.Options.GetTypeInfo(typeof(AgentRecord));

    /// <summary>The live agent of each of these tasks that has one, by task id, from the partial index of live tasks.</summary>
    private static Dictionary<string, Guid> LiveAgentsOf(SqliteSession c, IEnumerable<string> taskIds)
    {
        // CROSS JOIN keeps the batch's task ids as the outer loop, one lookup each in the index of live tasks; written
        // as "task_id IN (SELECT ...)", SQLite walked every live agent by status instead (a full queue, every batch).
        var command = c.Command($"""
            SELECT a.task_id, a.agent_id FROM json_each($tasks) t CROSS JOIN agents a
            WHERE a.task_id = t.value AND a.status IN {LiveStatuses}
            """, ("$tasks", JsonSerializer.Serialize(taskIds.Distinct().ToArray(), TaskIdsJson)));
        using var reader = command.ExecuteReader();
        var live = new Dictionary<string, Guid>(StringComparer.Ordinal);
        while (reader.Read())
        {
            live[reader.GetString(0)] = Guid.Parse(reader.GetString(1));
        }

        return live;
    }

    private static readonly JsonTypeInfo<string[]> TaskIdsJson = (JsonTypeInfo<string[]>)OrchestratorJson.Options.GetTypeInfo(typeof(string[]));

    // Not EnqueueMany with one entry: a single spawn lets the unique index of live tasks find a duplicate, with no read
    // before the INSERT. As a batch of one (its live-agent query first), single spawns ran at 0.29x the /health rate
    // against 0.31-0.32x this way, in the same runs of `bench spawn 5 8 10` (2026-12-05), below the 0.3x target.
    private EnqueueResult Enqueue(SqliteSession c, AgentRecord agent, long maxWaiting, AgentEvent spawned)
    {
        var waiting = c.Scalar("SELECT COALESCE(SUM(n), 0) FROM task_counts WHERE task_state = 'pending'");
        if (waiting >= maxWaiting)
        {
            return DuplicateOf(c, agent) ?? new EnqueueResult(EnqueueOutcome.QueueFull, null, Waiting: waiting);
        }

        // The partial unique index on live task ids refuses a second live agent; the row's seq is its rowid.
        // Arrival order from memory: this connection is the only writer. A rolled-back enqueue leaves a gap, which
        // keeps the order.
        _lastSequence ??= c.Scalar("SELECT COALESCE(MAX(seq), 0) FROM agents");
        var sequence = ++_lastSequence;
        var stored = agent with { Sequence = sequence.Value, Version = 1 };
        try
        {
            c.Execute("""
                INSERT INTO agents (seq, agent_id, task_id, status, task_state, priority, due_at, version, doc)
                VALUES ($seq, $id, $task, $status, $state, $priority, $due, 1, $doc)
                """,
                ("$seq", sequence), ("$id", Key(stored.AgentId)), ("$task", stored.TaskId), ("$status", Name(stored.Status)),
                ("$state", Name(stored.TaskState)), ("$priority", stored.Priority), ("$due", DueAt(stored)), ("$doc", Serialize(stored)));
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraintError && DuplicateOf(c, agent) is { } duplicate)
        {
            return duplicate;
        }

        return new EnqueueResult(EnqueueOutcome.Enqueued, stored, Waiting: waiting + 1, Event: EmbeddedEventHistory.Append(c, spawned, events));
    }

    private static EnqueueResult? DuplicateOf(SqliteSession c, AgentRecord agent) =>
        ReadOne(c, $"SELECT doc FROM agents WHERE task_id = $task AND status IN {LiveStatuses}", ("$task", agent.TaskId)) is { } existing
            ? new EnqueueResult(EnqueueOutcome.DuplicateLiveTask, null, existing.AgentId)
            : null;

    public Task<AgentRecord?> LeaseNextAsync(TaskLease lease, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        _paused == true ? Task.FromResult<AgentRecord?>(null) : database.RunAsync(c => LeaseNext(c, new LeaseRequest(lease, now, expiresAt)), cancellationToken);

    // One operation, so one transaction: the end and the next lease commit together, and a failed compare-and-set leases nothing.
    public Task<ReplacedAndLeased?> TryReplaceAndLeaseNextAsync(AgentRecord record, long expectedVersion, AgentEvent? withEvent, LeaseRequest next, CancellationToken cancellationToken) =>
        database.RunAsync(c => Replace(c, record, expectedVersion, leaseExpiredBefore: null, newLeaseExpiry: null) is { } stored
            ? new ReplacedAndLeased(new StoredChange(stored, withEvent is null ? null : EmbeddedEventHistory.Append(c, withEvent, events)), LeaseNext(c, next))
            : null, cancellationToken);

    private AgentRecord? LeaseNext(SqliteSession c, LeaseRequest request)
    {
        if (IsPaused(c))
        {
            return null;
        }

        var next = ReadOne(c, """
            SELECT doc FROM agents WHERE task_state = 'pending' AND due_at <= $now
            ORDER BY priority DESC, seq LIMIT 1
            """, ("$now", request.Now.ToUnixTimeMilliseconds()));
        if (next is null)
        {
            return null;
        }

        var leased = AgentLifecycle.Leased(next, request.Lease);
        return Replace(c, leased, next.Version, leaseExpiredBefore: null, newLeaseExpiry: request.ExpiresAt);
    }

    public Task<bool> RenewLeaseAsync(Guid agentId, string token, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        database.RunAsync(c => c.Execute(
            $"UPDATE agents SET lease_expires_at = $expires WHERE agent_id = $id AND lease_token = $token AND status IN {LiveStatuses}",
            ("$expires", expiresAt.ToUnixTimeMilliseconds()), ("$id", Key(agentId)), ("$token", token)) == 1, cancellationToken);

    // Only live records hold a lease (every end clears it), so the small partial index of leased rows answers this.
    public Task<IReadOnlyList<AgentRecord>> ListExpiredLeasesAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        database.RunAsync<IReadOnlyList<AgentRecord>>(c =>
            [.. c.Strings("SELECT doc FROM agents INDEXED BY agents_leased WHERE lease_token IS NOT NULL AND lease_expires_at < $now ORDER BY seq",
                ("$now", now.ToUnixTimeMilliseconds())).Select(Deserialize)], cancellationToken);

    public Task<QueueStats> GetStatsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        database.RunAsync(c =>
        {
            (string, object?) at = ("$now", now.ToUnixTimeMilliseconds());
            // A killed agent's task state is failed; the status index tells the two apart.
            var killed = c.Scalar("SELECT COUNT(*) FROM agents WHERE status = 'killed'");
            return new QueueStats(
                Pending: c.Scalar("SELECT COUNT(*) FROM agents WHERE task_state = 'pending' AND due_at <= $now", at),
                Active: c.Scalar("SELECT COALESCE(SUM(n), 0) FROM task_counts WHERE task_state IN ('assigned', 'executing')"),
                Completed: c.Scalar("SELECT COALESCE(SUM(n), 0) FROM task_counts WHERE task_state = 'completed'"),
                Failed: c.Scalar("SELECT COALESCE(SUM(n), 0) FROM task_counts WHERE task_state = 'failed'") - killed,
                Killed: killed,
                Delayed: c.Scalar("SELECT COUNT(*) FROM agents WHERE task_state = 'pending' AND due_at > $now", at),
                Paused: IsPaused(c),
                EmergencyStop: IsEmergencyStopped(c));
        }, cancellationToken);

    public Task SetPausedAsync(bool paused, CancellationToken cancellationToken) =>
        database.RunAsync(c =>
        {
            c.Execute("INSERT INTO meta (key, value) VALUES ('queue.paused', $v) ON CONFLICT(key) DO UPDATE SET value = $v", ("$v", paused ? "true" : "false"));
            return _paused = paused;
        }, cancellationToken);

    public Task<bool> IsPausedAsync(CancellationToken cancellationToken) => database.RunAsync(IsPaused, cancellationToken);

    public Task SetEmergencyStopAsync(bool stopped, CancellationToken cancellationToken) =>
        database.RunAsync(c => c.Execute("INSERT INTO meta (key, value) VALUES ('queue.emergency', $v) ON CONFLICT(key) DO UPDATE SET value = $v",
            ("$v", stopped ? "true" : "false")), cancellationToken);

    public Task<bool> IsEmergencyStoppedAsync(CancellationToken cancellationToken) => database.RunAsync(IsEmergencyStopped, cancellationToken);

    private static bool IsEmergencyStopped(SqliteSession c) =>
        c.Strings("SELECT value FROM meta WHERE key = 'queue.emergency'") is [var value] && value == "true";

    private bool IsPaused(SqliteSession c) =>
        _paused ??= c.Strings("SELECT value FROM meta WHERE key = 'queue.paused'") is [var value] && value == "true";

    private static AgentRecord? Replace(SqliteSession c, AgentRecord record, long expectedVersion, DateTimeOffset? leaseExpiredBefore, DateTimeOffset? newLeaseExpiry)
    {
        var stored = record with { Version = expectedVersion + 1 };
        // A lease keeps its expiry while its token is unchanged (renewals only touch the column).
        var changed = c.Execute("""
            UPDATE agents SET status = $status, task_state = $state, priority = $priority, due_at = $due,
                lease_expires_at = CASE WHEN $token IS NULL THEN NULL WHEN $expires IS NOT NULL THEN $expires
                                        WHEN lease_token = $token THEN lease_expires_at ELSE NULL END,
                lease_token = $token, lease_owner = $owner, version = $next, doc = $doc
            WHERE agent_id = $id AND version = $expected
              AND ($expiredBefore IS NULL OR (lease_expires_at IS NOT NULL AND lease_expires_at < $expiredBefore))
            """,
            ("$status", Name(stored.Status)), ("$state", Name(stored.TaskState)), ("$priority", stored.Priority), ("$due", DueAt(stored)),
            ("$token", stored.Lease?.Token), ("$owner", stored.Lease?.Owner), ("$expires", newLeaseExpiry?.ToUnixTimeMilliseconds()),
            ("$next", stored.Version), ("$doc", Serialize(stored)), ("$id", Key(stored.AgentId)), ("$expected", expectedVersion),
            ("$expiredBefore", leaseExpiredBefore?.ToUnixTimeMilliseconds()));
        return changed == 1 ? stored : null;
    }

    private static AgentRecord? ReadOne(SqliteSession c, string sql, params ReadOnlySpan<(string, object?)> parameters) =>
        c.Strings(sql, parameters) is [var doc, ..] ? Deserialize(doc) : null;

    private static string Key(Guid id) => id.ToString("D");

    private static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static long DueAt(AgentRecord agent) => agent.NextAttemptAt?.ToUnixTimeMilliseconds() ?? 0;

    private static string Serialize(AgentRecord agent) => JsonSerializer.Serialize(agent, OrchestratorJson.Options);

    private static AgentRecord Deserialize(string doc) =>
        JsonSerializer.Deserialize<AgentRecord>(doc, OrchestratorJson.Options) ?? throw new InvalidDataException("empty agent document");
}
