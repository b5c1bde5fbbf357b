using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Tests.Monitor;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Agents;

/// <summary>
/// The worker's "end an attempt and lease the next" path (<see cref="IWorkerSlot"/>), through the real service on both
/// backends: an ending attempt takes its slot's next task in the same store step, under the rules the worker's loop
/// leases by.
/// </summary>
public sealed class WorkerSlotTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private async Task<TestHost> StartAsync(string backend, Action<Dictionary<string, string?>> configure) =>
        await TestHost.StartAsync(s =>
        {
            if (backend == "valkey")
            {
                redis.Server.Configure(s, RedisFixture.NewPrefix());
            }

            configure(s);
        });

    private static async Task PostAsync(TestHost host, string path)
    {
        using var response = await host.Client.PostAsync(path, null);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<(double Loop, double End)> LeasesAsync(TestHost host)
    {
        using var response = await host.Client.GetAsync("/metrics");
        var samples = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        return (samples.Sum("mosaic_tasks_leased_total", ("by", "loop")), samples.Sum("mosaic_tasks_leased_total", ("by", "end")));
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("valkey")]
    public async Task Agents_run_back_to_back_each_end_leasing_the_next_by_priority(string backend)
    {
        var order = Path.Combine(TempDirectory.Create("order"), "order.txt");
        await using var host = await StartAsync(backend, s =>
        {
            s["AGENT_COMMAND"] = $"echo \"$MOSAIC_TASK_ID\" >> {order}; date > done.txt";
            s["MAX_CONCURRENT_AGENTS"] = "1";
        });
        await PostAsync(host, "/agents/queue/pause");
        int[] priorities = [5, 10, 1, 10];
        var ids = new List<Guid>();
        for (var i = 0; i < priorities.Length; i++)
        {
            ids.Add(await host.SpawnAsync($"T-{i}-p{priorities[i]}", priorities[i]));
        }

        await PostAsync(host, "/agents/queue/resume");
        foreach (var id in ids)
        {
            await host.Events.WaitForAsync(id, "agent.completed");
        }

        Assert.Equal(["T-1-p10", "T-3-p10", "T-0-p5", "T-2-p1"], await File.ReadAllLinesAsync(order));
        // The loop leased the first; each end leased the next in the same store step as the end itself.
        Assert.Equal((1, 3), await LeasesAsync(host));
        Assert.All(ids, id => Assert.Single(host.Events.For(id), e => e.Type == "agent.running"));
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("valkey")]
    public async Task An_end_leases_nothing_while_the_queue_is_paused(string backend)
    {
        var go = Path.Combine(TempDirectory.Create("go"), "go");
        await using var host = await StartAsync(backend, s =>
        {
            s["AGENT_COMMAND"] = $"while [ ! -f {go} ]; do sleep 0.05; done; date > done.txt";
            s["MAX_CONCURRENT_AGENTS"] = "1";
        });
        var first = await host.SpawnAsync("T-first");
        await host.Events.WaitForAsync(first, "agent.running");
        var second = await host.SpawnAsync("T-second");
        await PostAsync(host, "/agents/queue/pause");

        await File.WriteAllTextAsync(go, "");
        await host.Events.WaitForAsync(first, "agent.completed");

        // The end and whatever it leased were stored in one step, before agent.completed was published.
        var waiting = await host.StatusAsync(second);
        Assert.Equal(("pending", 0), (waiting.GetProperty("taskState").GetString(), waiting.GetProperty("attempt").GetInt32()));
        await PostAsync(host, "/agents/queue/resume");
        await host.Events.WaitForAsync(second, "agent.completed");
        Assert.Equal((2, 0), await LeasesAsync(host));
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("valkey")]
    public async Task Ends_that_lease_the_next_task_keep_to_max_concurrent_agents(string backend)
    {
        var log = Path.Combine(TempDirectory.Create("concurrency"), "log.txt");
        await using var host = await StartAsync(backend, s =>
        {
            // The first agent waits (5 s at most) for a second to start, so that two overlap however slow the machine:
            // the cap is what keeps a third from starting beside them.
            s["AGENT_COMMAND"] = $"echo start >> {log}; n=0; while [ $(grep -c start {log}) -lt 2 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; " +
                $"sleep 0.3; echo end >> {log}; date > done.txt";
            s["MAX_CONCURRENT_AGENTS"] = "2";
        });
        await PostAsync(host, "/agents/queue/pause");
        var ids = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await host.SpawnAsync($"T-cap-{i}"));
        }

        await PostAsync(host, "/agents/queue/resume");
        foreach (var id in ids)
        {
            await host.Events.WaitForAsync(id, "agent.completed");
        }

        var running = 0;
        var most = 0;
        foreach (var line in await File.ReadAllLinesAsync(log))
        {
            running += line == "start" ? 1 : -1;
            most = Math.Max(most, running);
        }

        Assert.Equal(2, most);
        var (loop, end) = await LeasesAsync(host);
        Assert.Equal(6, loop + end);
        Assert.True(end >= 1, $"no end leased the next task (loop {loop}, end {end})");
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("valkey")]
    public async Task A_retry_leases_nothing_with_its_end_its_own_task_may_be_due_at_once(string backend)
    {
        await using var host = await StartAsync(backend, s =>
        {
            s["AGENT_COMMAND"] = "[ \"$MOSAIC_ATTEMPT\" = 1 ] && exit 75; date > done.txt";
            s["RETRY_BASE_DELAY_SECONDS"] = "0";
            s["MAX_CONCURRENT_AGENTS"] = "1";
        });
        await PostAsync(host, "/agents/queue/pause");
        var first = await host.SpawnAsync("T-retry-first");
        var second = await host.SpawnAsync("T-retry-second");
        await PostAsync(host, "/agents/queue/resume");
        await host.Events.WaitForAsync(first, "agent.completed");
        await host.Events.WaitForAsync(second, "agent.completed");

        Assert.All(new[] { first, second }, id => Assert.Single(host.Events.For(id), e => e.Type == "agent.retrying"));
        // first's retry and second's were leased by the loop, after their runs had ended; only first's completion
        // leased the next task (second's first attempt) with its end.
        Assert.Equal((3, 1), await LeasesAsync(host));
    }

    [Fact]
    public async Task A_task_handed_over_while_the_worker_stops_goes_back_to_the_queue_with_its_attempt()
    {
        await using var host = await TestHost.StartAsync();
        await PostAsync(host, "/agents/queue/pause");
        var id = await host.SpawnAsync("T-handover");
        var worker = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<AgentWorker>().Single();
        await worker.StopAsync(default);

        // An attempt's end leased this task for its slot just as the worker began to stop.
        await host.Get<IQueueAdmin>().SetPausedAsync(false, default);
        var leased = await host.Get<ITaskQueue>().LeaseNextAsync(new TaskLease("test/instance", "handed-over"), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(1), default);
        Assert.Equal((id, 1), (leased!.AgentId, leased.Attempt));
        worker.RunHandedOver(leased);

        var retry = await host.Events.WaitForAsync(id, "agent.retrying");
        Assert.Equal("shutdown", retry.Data!.Value.GetProperty("reason").GetString());
        var record = (await host.Get<IAgentStore>().GetAsync(id, default))!;
        Assert.Equal((AgentStatus.Spawning, TaskState.Pending, 0, null), (record.Status, record.TaskState, record.Attempt, record.Lease));
        Assert.DoesNotContain(host.Events.For(id), e => e.Type == "agent.running");
    }
}
