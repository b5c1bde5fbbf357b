using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Storage.Valkey;
using Mosaic.Orchestrator.Tests.Support;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Tests.Storage.Valkey;

/// <summary>The storage and queue contract against a real redis-server, plus what only this backend has.</summary>
public sealed class ValkeyStoreContractTests(RedisFixture redis) : AgentStoreContract, IClassFixture<RedisFixture>
{
    private ValkeyConnection _valkey = null!;

    public override Task InitializeAsync()
    {
        _valkey = new ValkeyConnection(redis.Connection, RedisFixture.NewPrefix());
        var store = new ValkeyAgentStore(_valkey, maxActiveAgents: 1000);
        (Agents, Queue, Admin) = (store, store, store);
        History = new ValkeyEventHistory(_valkey);
        Audit = new ValkeyAuditStore(_valkey);
        Retention = new ValkeyRetention(_valkey);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync() => await _valkey.DisposeAsync();

    private IDatabase Db => redis.Connection.GetDatabase();

    [Fact]
    public async Task Records_and_tasks_are_plain_json_under_the_spec_keys()
    {
        var agent = NewAgent("T-keys", priority: 7);
        await EnqueueAsync(agent, 10);
        var doc = (string?)await Db.StringGetAsync($"{_valkey.Prefix}:agent:{agent.AgentId}");
        using var record = System.Text.Json.JsonDocument.Parse(doc!);
        Assert.Equal("T-keys", record.RootElement.GetProperty("taskId").GetString());
        Assert.Equal("pending", record.RootElement.GetProperty("taskState").GetString());
        Assert.Equal(1, record.RootElement.GetProperty("version").GetInt64());

        var leased = await Queue.LeaseNextAsync(new TaskLease("n/i", "tok"), Now, Now.AddSeconds(30), default);
        Assert.Equal("tok", leased!.Lease!.Token);
        using var task = System.Text.Json.JsonDocument.Parse((string)(await Db.StringGetAsync($"{_valkey.Prefix}:task:T-keys"))!);
        Assert.Equal("assigned", task.RootElement.GetProperty("state").GetString());
        Assert.Equal(agent.AgentId, task.RootElement.GetProperty("agentId").GetGuid());
        Assert.Equal(1, task.RootElement.GetProperty("attempt").GetInt32());
        var stored = (await Agents.GetAsync(agent.AgentId, default))!;
        Assert.Equal(leased, stored with { Context = leased.Context }); // what the script wrote is what the store reads
    }

    [Fact]
    public async Task An_end_swaps_its_slot_for_the_next_task_under_max_active_agents()
    {
        var capped = new ValkeyAgentStore(_valkey, maxActiveAgents: 2);
        foreach (var task in new[] { "T-a", "T-b", "T-c", "T-d" })
        {
            await EnqueueAsync(NewAgent(task), 10);
        }

        var a = (await capped.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default))!;
        var b = (await capped.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default))!;
        Assert.Null(await capped.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default)); // two leased: at the cap

        // An end gives its lease up: the slot it frees takes the next task.
        Assert.Equal("T-c", (await CompleteAndLeaseNextAsync(capped, a))!.Next?.TaskId);
        Assert.Null(await capped.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default));

        // A change that keeps its lease frees no slot: stored, and nothing leased.
        var kept = await capped.TryReplaceAndLeaseNextAsync(b with { Error = "a note" }, b.Version, null, new LeaseRequest(Lease(), Now, Now.AddSeconds(30)), default);
        Assert.Equal("a note", kept!.Change.Agent.Error);
        Assert.Null(kept.Next);
        Assert.Equal(1, (await capped.GetStatsAsync(Now, default)).Pending);
    }

    [Fact]
    public async Task At_the_cap_an_end_leaves_the_last_free_slot_to_an_instance_that_was_refused_for_it()
    {
        var capped = new ValkeyAgentStore(_valkey, maxActiveAgents: 2);
        foreach (var task in new[] { "T-a", "T-b", "T-c", "T-d", "T-e" })
        {
            await EnqueueAsync(NewAgent(task), 10);
        }

        var a = (await capped.LeaseNextAsync(Lease("n1/i"), Now, Now.AddSeconds(30), default))!;
        var b = (await capped.LeaseNextAsync(Lease("n1/i"), Now, Now.AddSeconds(30), default))!;
        Assert.Null(await capped.LeaseNextAsync(Lease("n2/i"), Now, Now.AddSeconds(30), default)); // n2 waits for a slot

        // n1's end does not take the freed slot back while n2 waits: n2 gets it.
        Assert.Null((await CompleteAndLeaseNextAsync(capped, a, Lease("n1/i")))!.Next);
        Assert.Equal("T-c", (await capped.LeaseNextAsync(Lease("n2/i"), Now, Now.AddSeconds(30), default))?.TaskId);

        // Served, n2 waits no more: n1's next end takes its slot's next task again.
        Assert.Equal("T-d", (await CompleteAndLeaseNextAsync(capped, b, Lease("n1/i")))!.Next?.TaskId);

        // A wait is forgotten after a lease's time.
        var d = (await Agents.GetAsync((await Agents.FindLiveByTaskAsync("T-d", default))!.AgentId, default))!;
        Assert.Null(await capped.LeaseNextAsync(Lease("n2/i"), Now, Now.AddSeconds(30), default));
        Assert.Equal("T-e", (await CompleteAndLeaseNextAsync(capped, d, Lease("n1/i"), at: Now.AddSeconds(31)))!.Next?.TaskId);
    }

    [Fact]
    public async Task Priority_holds_among_more_due_retries_than_one_promotion_chunk()
    {
        for (var i = 0; i < 501; i++)
        {
            await EnqueueAsync(NewAgent($"T-low-{i}", priority: 1) with { NextAttemptAt = Now.AddSeconds(-10) }, 10_000);
        }

        var urgent = NewAgent("T-urgent", priority: 10) with { NextAttemptAt = Now.AddSeconds(-1) };
        await EnqueueAsync(urgent, 10_000);

        var leased = await Queue.LeaseNextAsync(new TaskLease("n/i", "tok"), Now, Now.AddSeconds(30), default);

        Assert.Equal(urgent.AgentId, leased!.AgentId);
    }

    [Fact]
    public async Task A_queue_entry_whose_record_is_gone_is_dropped_instead_of_blocking_the_tasks_behind_it()
    {
        var agent = NewAgent("T-behind");
        await EnqueueAsync(agent, 10);
        // An entry ahead of every task (score 0) whose agent has neither record nor meta: lost outside the scripts.
        var pending = $"{_valkey.Prefix}:queue:pending";
        await Db.SortedSetAddAsync(pending, "no-such-agent", 0);

        Assert.Null(await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default));
        Assert.Null(await Db.SortedSetScoreAsync(pending, "no-such-agent"));
        Assert.Equal(agent.AgentId, (await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default))?.AgentId);
    }

    [Fact]
    public async Task A_lost_event_counter_cannot_half_apply_a_transition()
    {
        var agent = NewAgent("T-counter");
        await EnqueueAsync(agent, 10);
        // The counter gone (evicted, restored from an older snapshot) while the history stream kept its entries.
        await Db.KeyDeleteAsync($"{_valkey.Prefix}:events:seq");
        var stored = (await Agents.GetAsync(agent.AgentId, default))!;
        var killed = new AgentEvent("agent.killed", agent.AgentId, agent.TaskId, Now, null);

        var change = await Agents.TryReplaceAsync(stored with { Status = AgentStatus.Killed, TaskState = TaskState.Failed }, stored.Version, null, killed, default);

        Assert.Equal(AgentStatus.Killed, change!.Agent.Status);
        var history = await History.ReadAfterAsync(0, 10, default);
        Assert.Equal(["agent.spawned", "agent.killed"], history.Select(e => e.Type));
        Assert.True(history[1].Id > history[0].Id);
    }

    [Fact]
    public async Task Events_are_published_on_the_events_channel_in_id_order()
    {
        var heard = new List<string>();
        var subscriber = redis.Connection.GetSubscriber();
        var queue = await subscriber.SubscribeAsync(RedisChannel.Literal($"{_valkey.Prefix}:events"));
        var agent = NewAgent("T-pub");
        await EnqueueAsync(agent, 10);
        var appended = await History.AppendAsync(new AgentEvent("agent.cleanup", agent.AgentId, "T-pub", Now, null), default);
        for (var i = 0; i < 2; i++)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            heard.Add((await queue.ReadAsync(timeout.Token)).Message.ToString());
        }

        await queue.UnsubscribeAsync();
        var events = heard.Select(ValkeyDocuments.Event).ToList();
        Assert.Equal(["agent.spawned", "agent.cleanup"], events.Select(e => e.Type));
        Assert.Equal(appended.Id, events[1].Id);
        Assert.True(events[0].Id < events[1].Id);
    }

    [Fact]
    public async Task Leasing_stops_at_the_cluster_wide_limit_and_resumes_when_a_task_ends()
    {
        var queue = new ValkeyAgentStore(_valkey, maxActiveAgents: 3);
        for (var i = 0; i < 5; i++)
        {
            await EnqueueAsync(NewAgent($"T{i}"), 10);
        }

        var leased = new List<AgentRecord>();
        while (await queue.LeaseNextAsync(new TaskLease($"node{leased.Count}/i", Guid.NewGuid().ToString("N")), Now, Now.AddSeconds(30), default) is { } next)
        {
            leased.Add(next);
        }

        Assert.Equal(3, leased.Count); // maxActiveAgents, whoever asks
        var done = leased[0] with { Status = AgentStatus.Completed, TaskState = TaskState.Completed, Lease = null };
        Assert.NotNull(await Agents.TryReplaceAsync(done, leased[0].Version, null, null, default));
        Assert.NotNull(await queue.LeaseNextAsync(new TaskLease("n/i", "t"), Now, Now.AddSeconds(30), default));
        Assert.Null(await queue.LeaseNextAsync(new TaskLease("n/i", "u"), Now, Now.AddSeconds(30), default));
        var stats = await Admin.GetStatsAsync(Now, default);
        Assert.Equal((1, 3, 1), (stats.Pending, stats.Active, stats.Completed));
    }

    [Fact]
    public async Task A_retry_waits_in_the_delayed_set_and_is_promoted_in_priority_order_when_due()
    {
        var retried = NewAgent("T-retry", priority: 2);
        await EnqueueAsync(retried, 10);
        var leased = (await Queue.LeaseNextAsync(new TaskLease("n/i", "a"), Now, Now.AddSeconds(30), default))!;
        var requeued = leased with { TaskState = TaskState.Pending, Lease = null, NextAttemptAt = Now.AddSeconds(5), Reason = "runtime-transient" };
        Assert.NotNull(await Agents.TryReplaceAsync(requeued, leased.Version, null, null, default));
        var urgent = NewAgent("T-urgent", priority: 9);
        await EnqueueAsync(urgent, 10);
        Assert.Equal((1, 1), await PendingAndDelayedAsync(Now));

        Assert.Equal("T-urgent", (await Queue.LeaseNextAsync(new TaskLease("n/i", "b"), Now.AddSeconds(6), Now.AddSeconds(36), default))!.TaskId);
        var again = (await Queue.LeaseNextAsync(new TaskLease("n/i", "c"), Now.AddSeconds(6), Now.AddSeconds(36), default))!;
        Assert.Equal(("T-retry", 2, null), (again.TaskId, again.Attempt, again.NextAttemptAt));
        Assert.Equal("runtime-transient", again.Reason);
    }

    [Fact]
    public async Task Health_answers_while_connected_and_names_the_server_when_not()
    {
        Assert.Null(await new ValkeyStorageHealth(_valkey).CheckAsync(default));
        await using var nowhere = new ValkeyConnection(
            await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { "127.0.0.1", Loopback.FreePort() } }, AbortOnConnectFail = false, ConnectTimeout = 200 }),
            "x", owned: true);
        var problem = await new ValkeyStorageHealth(nowhere).CheckAsync(default);
        Assert.Contains("not connected", problem);
    }

    [Fact]
    public async Task A_store_written_with_a_meta_hash_per_agent_is_read_and_moved_to_the_packed_meta()
    {
        var first = NewAgent("T-old-first", priority: 7);
        var second = NewAgent("T-old-second", priority: 5);
        await EnqueueAsync(first, 10);
        await EnqueueAsync(second, 10);
        // As the version before the packed meta left them: each agent's meta in a hash of its own.
        string[] fields = ["v", "st", "ts", "task", "seq", "pri", "att", "bl", "due", "tok", "exp", "own"];
        foreach (var agent in new[] { first, second })
        {
            var packed = ((string)(await Db.HashGetAsync($"{_valkey.Prefix}:meta", agent.AgentId.ToString()))!).Split('\x1f');
            await Db.HashSetAsync($"{_valkey.Prefix}:agent:{agent.AgentId}:meta", [.. fields.Zip(packed, (f, v) => new HashEntry(f, v))]);
            await Db.HashDeleteAsync($"{_valkey.Prefix}:meta", agent.AgentId.ToString());
        }

        var leased = (await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default))!;
        Assert.Equal(first.AgentId, leased.AgentId); // priority still holds
        Assert.True(await Queue.RenewLeaseAsync(leased.AgentId, leased.Lease!.Token, Now.AddSeconds(60), default));
        var both = (await CompleteAndLeaseNextAsync(Queue, leased))!;

        Assert.Equal(second.AgentId, both.Next!.AgentId);
        var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
        Assert.Empty(server.Keys(pattern: $"{_valkey.Prefix}:agent:*:meta"));
        Assert.Equal(2, await Db.HashLengthAsync($"{_valkey.Prefix}:meta"));
        var stats = await Admin.GetStatsAsync(Now, default);
        Assert.Equal((0L, 1L, 1L), (stats.Pending, stats.Active, stats.Completed));
    }

    [Fact]
    public async Task Spawns_made_together_go_to_the_server_together_and_each_is_answered_on_its_own()
    {
        var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
        var agents = Enumerable.Range(0, 60).Select(i => NewAgent($"T-together-{i % 50}")).ToList(); // ten tasks twice
        var callsBefore = await ScriptCallsAsync(server);

        var held = HoldServerAsync();
        var results = await Task.WhenAll(agents.Select(a => EnqueueAsync(a, 1000)));
        await held;

        // Two calls go at once; the other 58 wait for one of them to answer, and go in one more call.
        Assert.Equal(3, await ScriptCallsAsync(server) - callsBefore);
        Assert.Equal(50, results.Count(r => r.Outcome == EnqueueOutcome.Enqueued));
        Assert.All(results.Skip(50), (r, i) => Assert.Equal((EnqueueOutcome.DuplicateLiveTask, agents[i].AgentId), (r.Outcome, r.ExistingAgentId)));
        // Applied in the order they were made: arrivals and event ids grow with it.
        var enqueued = results.Take(50).ToList();
        Assert.Equal(enqueued.Select(r => r.Agent!.Sequence).Order(), enqueued.Select(r => r.Agent!.Sequence));
        Assert.Equal(enqueued.Select(r => r.Event!.Id).Order(), enqueued.Select(r => r.Event!.Id));
        Assert.Equal(50, (await Admin.GetStatsAsync(Now, default)).Pending);
    }

    [Fact]
    public async Task An_entry_that_fails_in_a_shared_call_fails_alone()
    {
        var batched = new ValkeyBatchedScript(_valkey, ValkeyScripts.EnqueueMany, width: 11, maxInFlight: 1);
        RedisValue[] Entry(string task, string due) =>
        [
            Guid.NewGuid().ToString(), task, "spawning", "pending", 5, due, 0,
            "{\"taskId\":\"" + task + "\"", ",\"taskState\":\"pending\",\"attempt\":0", "{\"type\":\"agent.spawned\"", 100,
        ];

        // The first call holds the only slot on the wire, so the next three go together, the middle one with a due
        // time that is not a number.
        var held = HoldServerAsync();
        var calls = new[] { Entry("T-a", ""), Entry("T-b", ""), Entry("T-bad", "soon"), Entry("T-c", "") }.Select(batched.RunAsync).ToList();
        await held;

        var failure = await Assert.ThrowsAsync<RedisServerException>(() => calls[2]);
        Assert.Contains("not a valid float", failure.Message);
        foreach (var call in calls.Where((_, i) => i != 2))
        {
            Assert.Equal("ok", (string?)((RedisResult[])(await call)!)[0]);
        }

        // A wrong entry is refused at the call, before anything is sent.
        Assert.IsType<ArgumentOutOfRangeException>(Record.Exception(() => { _ = batched.RunAsync([1, 2, 3]); }));
    }

    [Fact]
    public async Task A_call_the_server_refuses_whole_fails_each_of_its_entries_and_later_calls_go_on()
    {
        var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
        await server.ConfigSetAsync("maxmemory", "1"); // out of memory: every writing script is refused before it starts
        try
        {
            var held = HoldServerAsync();
            var refused = Enumerable.Range(0, 5).Select(i => EnqueueAsync(NewAgent($"T-refused-{i}"), 100)).ToList();
            await held;
            foreach (var call in refused)
            {
                Assert.Contains("OOM", (await Assert.ThrowsAsync<RedisServerException>(() => call)).Message);
            }
        }
        finally
        {
            await server.ConfigSetAsync("maxmemory", "0");
        }

        var later = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => EnqueueAsync(NewAgent($"T-later-{i}"), 100)));
        Assert.All(later, r => Assert.Equal(EnqueueOutcome.Enqueued, r.Outcome));
    }

    // Keeps the server busy for a moment (a script that waits, as a slow script would), so that calls made meanwhile
    // wait for their answers whatever this machine's speed.
    private Task<RedisResult> HoldServerAsync() =>
        Db.ScriptEvaluateAsync("local t = redis.call('TIME') local stop = t[1] * 1e6 + t[2] + 300000 repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop");

    private static async Task<long> ScriptCallsAsync(IServer server)
    {
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return stats.TryGetValue("cmdstat_evalsha", out var evalsha) ? long.Parse(evalsha.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private async Task<(long, long)> PendingAndDelayedAsync(DateTimeOffset at)
    {
        var stats = await Admin.GetStatsAsync(at, default);
        return (stats.Pending, stats.Delayed);
    }
}
