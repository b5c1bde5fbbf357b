using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Queue;

public sealed class QueueBehaviourTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Tasks_run_by_priority_10_first_and_fifo_within_a_priority()
    {
        var order = Path.Combine(TempDirectory.Create("order"), "order.txt");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = $"echo \"$MOSAIC_TASK_ID\" >> {order}; date > done.txt";
            s["MAX_CONCURRENT_AGENTS"] = "1";
        });
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        int[] priorities = [5, 10, 1, 10, 5, 7];
        var ids = new List<Guid>();
        for (var i = 0; i < priorities.Length; i++)
        {
            ids.Add(await host.SpawnAsync($"T-{i}-p{priorities[i]}", priorities[i]));
        }

        using (await host.Client.PostAsync("/agents/queue/resume", null))
        {
        }

        foreach (var id in ids)
        {
            await host.Events.WaitForAsync(id, "agent.completed");
        }

        Assert.Equal(["T-1-p10", "T-3-p10", "T-5-p7", "T-0-p5", "T-4-p5", "T-2-p1"], await File.ReadAllLinesAsync(order));
    }

    [Fact]
    public async Task At_most_max_concurrent_agents_run_at_once_and_the_rest_wait_spawning()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "sleep 300";
            s["MAX_CONCURRENT_AGENTS"] = "2";
            s["KILL_GRACE_SECONDS"] = "1";
        });
        var ids = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await host.SpawnAsync($"T-cap-{i}"));
        }

        await host.Events.WaitForAsync(ids[0], "agent.running");
        await host.Events.WaitForAsync(ids[1], "agent.running");
        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(2, stats.GetProperty("active").GetInt32());
        Assert.Equal(2, stats.GetProperty("pending").GetInt32());
        Assert.Equal("spawning", (await host.StatusAsync(ids[3])).GetProperty("status").GetString());

        using (await host.Client.PostAsync($"/agents/{ids[0]}/kill", null))
        {
        }

        await host.Events.WaitForAsync(ids[2], "agent.running");
        Assert.Equal("spawning", (await host.StatusAsync(ids[3])).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_transient_failure_is_retried_after_exponential_backoff_then_fails_when_attempts_run_out()
    {
        var time = new FakeTimeProvider(Start);
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "exit 75";
            s["RETRY_BASE_DELAY_SECONDS"] = "10";
            s["TASK_MAX_ATTEMPTS"] = "3";
        }, time);
        var id = await host.SpawnAsync("T-retry");

        await host.Events.WaitForCountAsync(id, "agent.retrying", 1);
        var status = await host.StatusAsync(id);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.Equal("pending", status.GetProperty("taskState").GetString());
        Assert.Equal(1, status.GetProperty("attempt").GetInt32());
        Assert.Equal(Start.AddSeconds(10), status.GetProperty("nextAttemptAt").GetDateTimeOffset());
        Assert.Equal("runtime-transient", status.GetProperty("reason").GetString());
        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(1, stats.GetProperty("delayed").GetInt32());

        var passes = Worker(host).Passes;
        time.Advance(TimeSpan.FromSeconds(9.5));
        await AssertNoNewAttemptAsync(host, id, expectedAttempt: 1, passes);
        Advance(host, time, TimeSpan.FromSeconds(0.5));
        await host.Events.WaitForCountAsync(id, "agent.retrying", 2);
        status = await host.StatusAsync(id);
        Assert.Equal(2, status.GetProperty("attempt").GetInt32());
        Assert.Equal(Start.AddSeconds(10 + 20), status.GetProperty("nextAttemptAt").GetDateTimeOffset());

        Advance(host, time, TimeSpan.FromSeconds(20));
        var failed = await host.Events.WaitForAsync(id, "agent.failed");
        Assert.Equal("attempts-exhausted", failed.Data!.Value.GetProperty("reason").GetString());
        status = await host.StatusAsync(id);
        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal(3, status.GetProperty("attempt").GetInt32());
        Assert.Contains("exited with code 75", status.GetProperty("error").GetString());
        Assert.Equal(1, host.Events.For(id).Count(e => e.Type == "agent.running"));
    }

    private static async Task AssertNoNewAttemptAsync(TestHost host, Guid id, int expectedAttempt, long passesBefore)
    {
        // A negative: wait until the worker has looked at the queue after the clock moved, then check it left the task.
        await WorkerLookedAsync(host, passesBefore);
        Assert.Equal(expectedAttempt, (await host.StatusAsync(id)).GetProperty("attempt").GetInt32());
    }

    private static Mosaic.Orchestrator.Agents.AgentWorker Worker(TestHost host) =>
        host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<Mosaic.Orchestrator.Agents.AgentWorker>().Single();

    /// <summary>
    /// Moves the clock and wakes the worker loop: its poll timer starts from the clock's time when the loop goes idle,
    /// so a loop still finishing a pass when the clock moved would wait for a time the fake clock never reaches (a CI
    /// run saw a due retry never leased). The pass it wakes into runs at the moved time.
    /// </summary>
    private static void Advance(TestHost host, FakeTimeProvider time, TimeSpan by)
    {
        time.Advance(by);
        host.Get<QueueSignal>().Notify();
    }

    /// <summary>Waits for a whole pass of the worker loop that began after the clock moved: wake it, then see it finish.</summary>
    private static async Task WorkerLookedAsync(TestHost host, long passesBefore)
    {
        // The loop wakes on the moved clock when its poll timer was set before the move; if it was between a pass and
        // setting its timer when the clock moved, the timer starts from the new time and the fake clock never reaches
        // it: then a signal wakes it (the pass still runs at the moved time, which is what the callers check).
        var started = DateTime.UtcNow;
        await Wait.UntilAsync(() =>
        {
            if (DateTime.UtcNow - started > TimeSpan.FromSeconds(2))
            {
                host.Get<QueueSignal>().Notify();
            }

            return Worker(host).Passes > passesBefore;
        }, "the worker loop to wake on the moved clock");
        var woken = Worker(host).Passes;
        host.Get<QueueSignal>().Notify();
        await Wait.UntilAsync(() => Worker(host).Passes > woken, "a further pass of the worker loop");
    }

    [Fact]
    public async Task A_permanent_failure_fails_at_once_with_reason_and_exit_code()
    {
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo broken >&2; exit 3");
        var id = await host.SpawnAsync("T-permanent");
        await host.Events.WaitForAsync(id, "agent.cleanup");
        var status = await host.StatusAsync(id);
        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal("runtime-failed", status.GetProperty("reason").GetString());
        Assert.Equal(3, status.GetProperty("exitCode").GetInt32());
        Assert.Equal(1, status.GetProperty("attempt").GetInt32());
        var log = await File.ReadAllTextAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "attempt-1.log"));
        Assert.Contains("broken", log);
    }

    [Fact]
    public async Task An_expired_lease_of_a_dead_worker_goes_back_to_the_queue_and_the_dead_worker_is_fenced()
    {
        var time = new FakeTimeProvider(Start);
        var dataDir = TempDirectory.Create("lease");
        // A worker on another node took the task and died without a word.
        var deadLease = new TaskLease("other-node/dead-instance", "dead-token");
        var id = await Seed.LeasedTaskAsync(dataDir, "T-lease", deadLease.Owner, Start, Start.AddSeconds(30));
        await using var host = await TestHost.StartAsync(s =>
        {
            s["RETRY_BASE_DELAY_SECONDS"] = "1";
            s["LEASE_DURATION_SECONDS"] = "30";
        }, time, dataDir);

        var passes = Worker(host).Passes;
        time.Advance(TimeSpan.FromSeconds(29));
        await WorkerLookedAsync(host, passes);
        Assert.Equal("assigned", (await host.StatusAsync(id)).GetProperty("taskState").GetString());

        Advance(host, time, TimeSpan.FromSeconds(2));
        var retry = await host.Events.WaitForAsync(id, "agent.retrying");
        Assert.Equal("lease-expired", retry.Data!.Value.GetProperty("reason").GetString());
        Assert.False(await host.Get<ITaskQueue>().RenewLeaseAsync(id, deadLease.Token, time.GetUtcNow().AddSeconds(30), default));
        await Assert.ThrowsAsync<LeaseLostException>(() =>
            host.Get<AgentTransitions>().ChangeAsync(id, a => a with { Status = AgentStatus.Running }, default, deadLease));

        Advance(host, time, TimeSpan.FromSeconds(1));
        await host.Events.WaitForAsync(id, "agent.completed");
        var status = await host.StatusAsync(id);
        Assert.Equal(2, status.GetProperty("attempt").GetInt32());
        var audit = await host.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("action").GetString() == "recover" && e.GetProperty("reason").GetString() == "lease-expired");
    }

    [Fact]
    public async Task An_agent_running_past_its_time_limit_is_ended_and_fails_with_timeout()
    {
        var time = new FakeTimeProvider(Start);
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "sleep 300";
            s["AGENT_TIMEOUT_MINUTES"] = "5";
            s["LEASE_DURATION_SECONDS"] = "3600";
            s["KILL_GRACE_SECONDS"] = "1";
        }, time);
        var id = await host.SpawnAsync("T-timeout");
        await host.Events.WaitForAsync(id, "agent.running");
        await Wait.UntilAsync(async () => (await host.Get<IAgentStore>().GetAsync(id, default))?.Process is not null, "the process to be recorded");
        time.Advance(TimeSpan.FromMinutes(5));
        var failed = await host.Events.WaitForAsync(id, "agent.failed");
        Assert.Equal("timeout", failed.Data!.Value.GetProperty("reason").GetString());
        await host.Events.WaitForAsync(id, "agent.cleanup");
        Assert.Empty(Mosaic.Orchestrator.Processes.ProcessTree.FindMembers(new(null, null, Mosaic.Orchestrator.Processes.AgentMarker.For(id))));
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(3, 20)]
    [InlineData(6, 60)]
    [InlineData(60, 60)]
    public void Backoff_doubles_from_the_base_and_stops_at_the_cap(int attempt, double seconds)
    {
        var policy = new BackoffPolicy(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));
        Assert.Equal(TimeSpan.FromSeconds(seconds), policy.DelayAfter(attempt));
    }

    [Fact]
    public void Backoff_refuses_attempt_zero() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BackoffPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)).DelayAfter(0));
}
