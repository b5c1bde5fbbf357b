using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Storage.Valkey;
using Mosaic.Orchestrator.Tests.Support;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Tests.Storage.Valkey;

/// <summary>An instance's presence (NODE_ID claim, server checks) and its event relay, on a real redis-server.</summary>
public sealed class ValkeyInstanceTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly string _prefix = RedisFixture.NewPrefix();

    [Fact]
    public async Task A_second_live_instance_with_the_same_NODE_ID_is_refused_and_a_graceful_stop_frees_the_name()
    {
        var first = await TestHost.StartAsync(s =>
        {
            redis.Server.Configure(s, _prefix);
            s["NODE_ID"] = "same";
        });
        var refused = await Assert.ThrowsAsync<NodeIdInUseException>(() => TestHost.StartAsync(s =>
        {
            redis.Server.Configure(s, _prefix);
            s["NODE_ID"] = "same";
        }));
        Assert.Contains("NODE_ID same is in use", refused.Message);
        var owner = first.Get<NodeIdentity>().Instance;
        Assert.True(await first.Get<ValkeyInstance>().IsAliveAsync(owner));

        await first.DisposeAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var next = await TestHost.StartAsync(s =>
        {
            redis.Server.Configure(s, _prefix);
            s["NODE_ID"] = "same";
        });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the released name was taken after {clock.Elapsed}");
        Assert.False(await next.Get<ValkeyInstance>().IsAliveAsync(owner));
    }

    [Fact]
    public async Task An_instance_whose_NODE_ID_another_instance_took_leases_nothing_until_it_holds_it_again()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            redis.Server.Configure(s, _prefix);
            s["NODE_ID"] = "contested";
            s["AGENT_COMMAND"] = "true";
        });
        var db = redis.Connection.GetDatabase();
        // Another live instance claims the name (as one would after this one was cut off for longer than the claim).
        await db.StringSetAsync($"{_prefix}:node:contested", "contested/other", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => !host.Get<NodeClaim>().Held, "the claim to be seen as lost");

        var id = await host.SpawnAsync("T-contested", agentType: "reviewer");
        var passes = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<AgentWorker>().Single().Passes;
        await Wait.UntilAsync(() => host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<AgentWorker>().Single().Passes >= passes + 3, "worker passes");
        Assert.Equal("spawning", (await host.StatusAsync(id)).GetProperty("status").GetString());

        await db.KeyDeleteAsync($"{_prefix}:node:contested");
        await host.Events.WaitForAsync(id, "agent.completed", TimeSpan.FromSeconds(15));
        Assert.True(host.Get<NodeClaim>().Held);
    }

    [Fact]
    public async Task A_server_that_may_evict_keys_or_has_no_append_only_file_is_warned_about()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru", "--appendonly", "no");
        using var multiplexer = server.Connect();
        await using var valkey = new ValkeyConnection(multiplexer, _prefix);
        var logs = new LogCollector<ValkeyInstance>();
        var instance = new ValkeyInstance(valkey, new NodeIdentity("warned"), new NodeClaim(), logs);
        await instance.StartAsync(default);
        await instance.StopAsync(default);
        Assert.Contains(logs.Messages, m => m.Contains("maxmemory-policy is allkeys-lru", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("appendonly is off", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_server_at_start_is_logged_and_the_instance_starts_anyway()
    {
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { { "127.0.0.1", Loopback.FreePort() } },
            AbortOnConnectFail = false,
            ConnectTimeout = 200,
            BacklogPolicy = BacklogPolicy.FailFast,
        });
        await using var valkey = new ValkeyConnection(multiplexer, _prefix);
        var logs = new LogCollector<ValkeyInstance>();
        var instance = new ValkeyInstance(valkey, new NodeIdentity("lonely"), new NodeClaim(), logs);
        await instance.StartAsync(default);
        await instance.StopAsync(default);
        Assert.Contains(logs.Messages, m => m.Contains("unreachable at start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_event_relay_delivers_every_event_once_in_order_and_fills_gaps_from_the_history()
    {
        await WithRelayAsync(async (history, recorder, multiplexer) =>
        {
            var agentId = Guid.NewGuid();
            var first = await history.AppendAsync(new AgentEvent("agent.spawned", agentId, "T", DateTimeOffset.UtcNow, null), default);
            await recorder.WaitForAsync(e => e.Id == first.Id);

            // An event stored while this instance missed its publication (as during a reconnect).
            var db = multiplexer.GetDatabase();
            var lostId = await db.StringIncrementAsync($"{_prefix}:events:seq");
            var lost = new AgentEvent("agent.running", agentId, "T", DateTimeOffset.UtcNow, null) { Id = lostId };
            await db.StreamAddAsync($"{_prefix}:events:log", "e",
                System.Text.Json.JsonSerializer.Serialize(lost, Mosaic.Orchestrator.Configuration.OrchestratorJson.Options), $"{lostId}-0");
            await recorder.WaitForAsync(e => e.Id == lostId, TimeSpan.FromSeconds(5));

            var third = await history.AppendAsync(new AgentEvent("agent.completed", agentId, "T", DateTimeOffset.UtcNow, null), default);
            await recorder.WaitForAsync(e => e.Id == third.Id);
            Assert.Equal([first.Id, lostId, third.Id], recorder.All.Select(e => e.Id));
            Assert.Equal(["agent.spawned", "agent.running", "agent.completed"], recorder.All.Select(e => e.Type));
        });
    }

    [Fact]
    public async Task Events_whose_ids_the_server_hands_out_again_after_losing_writes_are_still_delivered()
    {
        await WithRelayAsync(async (history, recorder, multiplexer) =>
        {
            var agentId = Guid.NewGuid();
            AgentEvent last = null!;
            for (var i = 0; i < 3; i++)
            {
                last = await history.AppendAsync(new AgentEvent("agent.progress", agentId, "T", DateTimeOffset.UtcNow, null), default);
            }

            await recorder.WaitForAsync(e => e.Id == last.Id);
            // A crash lost the last two events: the counter and the stream are back at the first one.
            var db = multiplexer.GetDatabase();
            var kept = (await db.StreamRangeAsync($"{_prefix}:events:log", "-", $"{last.Id - 2}-0")).ToList();
            await db.KeyDeleteAsync($"{_prefix}:events:log");
            foreach (var entry in kept)
            {
                await db.StreamAddAsync($"{_prefix}:events:log", entry.Values, entry.Id);
            }

            await db.StringSetAsync($"{_prefix}:events:seq", last.Id - 2);

            var reissued = await history.AppendAsync(new AgentEvent("agent.completed", agentId, "T", DateTimeOffset.UtcNow, null), default);

            Assert.Equal(last.Id - 1, reissued.Id);
            await recorder.WaitForAsync(e => e.Type == "agent.completed", TimeSpan.FromSeconds(5));
        });
    }

    /// <summary>A real event relay on its own connection, started for <paramref name="body"/> and stopped after it.</summary>
    private async Task WithRelayAsync(Func<ValkeyEventHistory, EventRecorder, ConnectionMultiplexer, Task> body)
    {
        using var multiplexer = redis.Server.Connect();
        await using var valkey = new ValkeyConnection(multiplexer, _prefix);
        var history = new ValkeyEventHistory(valkey);
        var broadcaster = new EventBroadcaster();
        using var recorder = new EventRecorder(broadcaster);
        var relay = new ValkeyEventRelay(valkey, history, broadcaster, new QueueSignal(), new LogCollector<ValkeyEventRelay>());
        await relay.StartAsync(default);
        try
        {
            await body(history, recorder, multiplexer);
        }
        finally
        {
            await relay.StopAsync(default);
        }
    }
}
