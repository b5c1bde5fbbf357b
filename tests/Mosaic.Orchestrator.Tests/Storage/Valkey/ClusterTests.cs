using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Storage.Valkey;

/// <summary>Several orchestrator instances (real hosts, each its own DATA_DIR and NODE_ID) on one real redis-server.</summary>
public sealed class ClusterTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private readonly string _prefix = RedisFixture.NewPrefix();
    private readonly List<TestHost> _hosts = [];
    private readonly string _scratch = TempDirectory.Create("cluster");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
    }

    private async Task<TestHost> StartAsync(string node, Action<Dictionary<string, string?>>? configure = null, RedisServer? server = null)
    {
        var host = await TestHost.StartAsync(s =>
        {
            (server ?? redis.Server).Configure(s, _prefix);
            s["NODE_ID"] = node;
            s["LEASE_DURATION_SECONDS"] = "2";
            s["QUEUE_POLL_INTERVAL_MS"] = "100";
            s["RETRY_BASE_DELAY_SECONDS"] = "0";
            // Reviewers that change nothing: these tests are about the queue, not about gating a change.
            s["AGENT_COMMAND"] = "true";
            configure?.Invoke(s);
        });
        _hosts.Add(host);
        return host;
    }

    /// <summary>An agent command that appends "taskId attempt" to a file outside every worktree.</summary>
    private static string Appending(string file) => $"echo \"$MOSAIC_TASK_ID $MOSAIC_ATTEMPT\" >> '{file}'";

    private static async Task<int> CountAsync(TestHost host, AgentStatus status) =>
        (await host.Get<IAgentStore>().ListAsync(new AgentQuery(status, null, 1, 0), default)).Total;

    [Fact]
    public async Task Two_hundred_tasks_spread_over_three_instances_each_run_exactly_once()
    {
        var runs = Path.Combine(_scratch, "runs.log");
        var hosts = new List<TestHost>();
        for (var i = 0; i < 3; i++)
        {
            hosts.Add(await StartAsync($"node-{i}", s =>
            {
                s["AGENT_COMMAND"] = Appending(runs);
                s["MAX_CONCURRENT_AGENTS"] = "12";
            }));
        }

        var clock = Stopwatch.StartNew();
        var ids = new Guid[200];
        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            ids[i] = await hosts[i % 3].SpawnAsync($"T-{i:D3}", agentType: "reviewer"));
        await Wait.UntilAsync(async () => await CountAsync(hosts[0], AgentStatus.Completed) == 200, "200 completed agents", TimeSpan.FromSeconds(120));
        var elapsed = clock.Elapsed;

        var lines = await File.ReadAllLinesAsync(runs);
        Assert.Equal(200, lines.Length);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"T-{i:D3} 1"), lines.Order(StringComparer.Ordinal));

        // Every instance ran some, and every instance heard every event once, in id order.
        var byNode = new Dictionary<string, int>();
        foreach (var id in ids)
        {
            var agent = (await hosts[1].Get<IAgentStore>().GetAsync(id, default))!;
            Assert.Equal((AgentStatus.Completed, 1), (agent.Status, agent.Attempt));
            byNode[agent.Process!.Node] = byNode.GetValueOrDefault(agent.Process.Node) + 1;
        }

        Assert.True(byNode.Count == 3, "runs per node: " + string.Join(", ", byNode.Select(p => $"{p.Key}={p.Value}")) + $" in {elapsed}");
        foreach (var host in hosts)
        {
            await host.Events.WaitForAsync(e => host.Events.All.Count(x => x.Type == "agent.cleanup") == 200);
            var seen = host.Events.All;
            Assert.Equal(seen.Select(e => e.Id).Order(), seen.Select(e => e.Id));
            Assert.Equal(seen.Count, seen.Select(e => e.Id).Distinct().Count());
            Assert.Equal(200, seen.Count(e => e.Type == "agent.completed"));
        }

        var stats = await hosts[2].Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal((0, 0, 200), (stats.GetProperty("pending").GetInt32(), stats.GetProperty("active").GetInt32(), stats.GetProperty("completed").GetInt32()));
    }

    [Fact]
    public async Task Priority_order_holds_across_instances()
    {
        var hosts = new List<TestHost>();
        for (var i = 0; i < 2; i++)
        {
            hosts.Add(await StartAsync($"prio-{i}", s => s["MAX_CONCURRENT_AGENTS"] = "1"));
        }

        using (await hosts[0].Client.PostAsync("/agents/queue/pause", null))
        {
        }

        // Spawned alternately on both instances while paused: priorities mixed, arrivals interleaved.
        int[] priorities = [3, 9, 5, 9, 1, 5, 10, 3];
        var ids = new List<Guid>();
        for (var i = 0; i < priorities.Length; i++)
        {
            ids.Add(await hosts[i % 2].SpawnAsync($"T-prio-{i}", priority: priorities[i], agentType: "reviewer"));
        }

        using (await hosts[1].Client.PostAsync("/agents/queue/resume", null))
        {
        }

        await Wait.UntilAsync(async () => await CountAsync(hosts[0], AgentStatus.Completed) == priorities.Length, "every agent to complete");
        // One agent at a time in the whole cluster (MAX_CONCURRENT_AGENTS), so the starts are the queue's order.
        var starts = hosts[0].Events.All.Where(e => e.Type == "agent.running").Select(e => ids.IndexOf(e.AgentId)).ToList();
        var expected = Enumerable.Range(0, priorities.Length).OrderByDescending(i => priorities[i]).ThenBy(i => i).ToList();
        Assert.Equal(expected, starts);
    }

    [Fact]
    public async Task Kill_all_on_one_instance_ends_agents_running_on_every_instance()
    {
        var hosts = new List<TestHost>();
        for (var i = 0; i < 3; i++)
        {
            hosts.Add(await StartAsync($"kill-{i}", s =>
            {
                s["AGENT_COMMAND"] = "trap '' TERM; sleep 300";
                s["MAX_CONCURRENT_AGENTS"] = "6";
                s["KILL_GRACE_SECONDS"] = "1";
            }));
        }

        var ids = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add(await hosts[i % 3].SpawnAsync($"T-kill-{i}"));
        }

        // Six run (the cluster's limit) and one waits in the queue.
        await Wait.UntilAsync(() => hosts.Sum(h => h.Get<ActiveRuns>().Count) == 6 && ids.All(id =>
            ProcessTree.FindMembers(new ProcessTreeSelector(null, null, AgentMarker.For(id))).Count > 0 || !hosts.Any(h => h.Get<ActiveRuns>().IsRunning(id))),
            "six running agents with their processes");
        var killer = hosts.MinBy(h => h.Get<ActiveRuns>().Count)!;
        var elsewhere = hosts.Where(h => h != killer).Sum(h => h.Get<ActiveRuns>().Count);
        Assert.True(elsewhere >= 3, $"{elsewhere} runs on the other instances");

        var clock = Stopwatch.StartNew();
        using var response = await killer.Client.PostAsync("/agents/kill-all", TestHost.Json("""{"reason":"maintenance"}"""));
        var answeredIn = clock.Elapsed;
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Kill all completed: 7 killed, 0 failed", body.GetProperty("message").GetString());
        Assert.True(answeredIn < TimeSpan.FromSeconds(3), $"kill-all answered after {answeredIn}");

        foreach (var id in ids)
        {
            // The owner's runner ends the tree and cleans up; its agent.cleanup reaches the killer through Valkey.
            var cleanup = await killer.Events.WaitForAsync(id, "agent.cleanup");
            Assert.Empty(ProcessTree.FindMembers(new ProcessTreeSelector(null, null, AgentMarker.For(id))));
            Assert.Equal("killed", (await killer.StatusAsync(id)).GetProperty("status").GetString());
        }

        Assert.All(hosts, h => Assert.Equal(0, h.Get<ActiveRuns>().Count));
        var audit = await killer.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
        Assert.Equal(7, audit.GetProperty("items").EnumerateArray().Count(e => e.GetProperty("action").GetString() == "kill"));
    }

    [Fact]
    public async Task An_instance_killed_hard_mid_run_loses_nothing_its_tasks_finish_on_another_instance()
    {
        var runs = Path.Combine(_scratch, "runs.log");
        // First attempts hang (the instance dies under them); later attempts finish. T-doomed always hangs.
        var command = $"case \"$MOSAIC_TASK_ID\" in T-doomed) sleep 300;; esac; [ \"$MOSAIC_ATTEMPT\" = 1 ] && sleep 300; {Appending(runs)}";
        var dataDir = TempDirectory.Create("doomed");
        var port = Loopback.FreePort();
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll"));
        var settings = TestHost.Defaults(dataDir);
        redis.Server.Configure(settings, _prefix);
        settings["ORCHESTRATOR_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["NODE_ID"] = "doomed";
        settings["LEASE_DURATION_SECONDS"] = "2";
        settings["AGENT_COMMAND"] = command;
        foreach (var (name, value) in settings)
        {
            start.Environment[name.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment.Remove("ORCHESTRATOR_API_KEY");
        using var doomed = Process.Start(start)!;
        var output = Task.WhenAll(doomed.StandardOutput.ReadToEndAsync(), doomed.StandardError.ReadToEndAsync());
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var ids = new List<Guid>();
        try
        {
            await Wait.UntilAsync(async () =>
            {
                try
                {
                    using var ready = await client.GetAsync("/health/ready");
                    return ready.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the doomed instance to be ready");
            foreach (var task in new[] { "T-a", "T-b", "T-doomed" })
            {
                using var spawn = await client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody(task, agentType: "reviewer")));
                ids.Add((await spawn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("agentId").GetGuid());
            }

            await Wait.UntilAsync(() => ids.All(id => ProcessTree.FindMembers(new ProcessTreeSelector(null, null, AgentMarker.For(id))).Count > 0),
                "every agent of the doomed instance to run");
        }
        finally
        {
            doomed.Kill(); // SIGKILL: no shutdown, no lease handed back; its agents' processes live on
            await doomed.WaitForExitAsync();
            await output;
        }

        try
        {
            var survivor = await StartAsync("survivor", s =>
            {
                s["AGENT_COMMAND"] = command;
                s["KILL_RELAY_TIMEOUT_SECONDS"] = "1";
                s["KILL_GRACE_SECONDS"] = "1";
            });

            // Killed at once, while its lease still names the dead instance: the kill is answered within seconds and
            // the survivor cleans up (the dead instance's orphaned processes run on this machine).
            var clock = Stopwatch.StartNew();
            using (var kill = await survivor.Client.PostAsync($"/agents/{ids[2]}/kill", null))
            {
                Assert.Equal(HttpStatusCode.OK, kill.StatusCode);
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"kill answered after {clock.Elapsed}");
            await survivor.Events.WaitForAsync(ids[2], "agent.cleanup");
            Assert.Empty(ProcessTree.FindMembers(new ProcessTreeSelector(null, null, AgentMarker.For(ids[2]))));

            foreach (var id in ids[..2])
            {
                var retry = await survivor.Events.WaitForAsync(id, "agent.retrying");
                Assert.Equal("lease-expired", retry.Data!.Value.GetProperty("reason").GetString());
                await survivor.Events.WaitForAsync(id, "agent.completed");
                var status = await survivor.StatusAsync(id);
                Assert.Equal(2, status.GetProperty("attempt").GetInt32());
            }

            Assert.Equal(["T-a 2", "T-b 2"], (await File.ReadAllLinesAsync(runs)).Order(StringComparer.Ordinal));
            var audit = await survivor.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
            Assert.Equal(2, audit.GetProperty("items").EnumerateArray().Count(e => e.GetProperty("action").GetString() == "recover"));
        }
        finally
        {
            foreach (var id in ids)
            {
                await ProcessTree.TerminateAsync(new ProcessTreeSelector(null, null, AgentMarker.For(id)), TimeSpan.FromSeconds(1));
            }
        }
    }

    [Fact]
    public async Task An_instance_cut_off_from_the_store_stops_its_run_before_its_lease_could_be_taken_over()
    {
        await using var server = await RedisServer.StartAsync("--appendonly", "yes");
        var host = await StartAsync("cutoff", s =>
        {
            s["AGENT_COMMAND"] = "sleep 300";
            s["LEASE_DURATION_SECONDS"] = "3";
        }, server);
        var id = await host.SpawnAsync("T-cutoff", agentType: "reviewer");
        await Wait.UntilAsync(() => ProcessTable.AgentProcesses().ContainsKey(id), "the agent's process");

        await server.StopProcessAsync();
        var cutAt = DateTime.UtcNow;

        // Renewals fail; after two thirds of the lease the run stops itself and ends its tree (grace 2 s), so no
        // other instance that recovers the expired lease can find this one still working on the task.
        await Wait.UntilAsync(() => !ProcessTable.AgentProcesses().ContainsKey(id), "the cut-off run to end its processes", TimeSpan.FromSeconds(15));
        Assert.True(DateTime.UtcNow - cutAt < TimeSpan.FromSeconds(3 + 2 + 2), $"ended after {DateTime.UtcNow - cutAt}");
        await server.StartProcessAsync("--appendonly", "yes");
    }

    [Fact]
    public async Task A_redis_restart_mid_run_drops_readiness_and_loses_no_task()
    {
        await using var server = await RedisServer.StartAsync();
        var runs = Path.Combine(_scratch, "runs.log");
        var hosts = new List<TestHost>();
        for (var i = 0; i < 2; i++)
        {
            hosts.Add(await StartAsync($"restart-{i}", s =>
            {
                s["AGENT_COMMAND"] = $"sleep 0.3; {Appending(runs)}";
                s["MAX_CONCURRENT_AGENTS"] = "4";
                s["LEASE_DURATION_SECONDS"] = "3";
            }, server));
        }

        var ids = new List<Guid>();
        for (var i = 0; i < 16; i++)
        {
            ids.Add(await hosts[i % 2].SpawnAsync($"T-restart-{i}", agentType: "reviewer"));
        }

        await Wait.UntilAsync(async () => await CountAsync(hosts[0], AgentStatus.Completed) >= 2, "the first completions");
        await server.StopProcessAsync();
        foreach (var host in hosts)
        {
            await Wait.UntilAsync(async () => (await host.Client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable, "readiness to drop");
            using var response = await host.Client.GetAsync("/health/ready");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("store", body.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        }

        await server.StartProcessAsync();
        foreach (var host in hosts)
        {
            await Wait.UntilAsync(async () => (await host.Client.GetAsync("/health/ready")).IsSuccessStatusCode, "readiness to recover");
        }

        await Wait.UntilAsync(async () => await CountAsync(hosts[1], AgentStatus.Completed) == ids.Count, "every task to complete after the restart", TimeSpan.FromSeconds(60));
        var ran = (await File.ReadAllLinesAsync(runs)).Select(line => line.Split(' ')[0]).ToHashSet();
        Assert.Equal(ids.Count, ran.Count); // at least once each; a run whose end could not be written ran again
        foreach (var host in hosts)
        {
            // Both instances hear the end of every agent, also of those that ended after the reconnect.
            await host.Events.WaitForAsync(_ => ids.All(id => host.Events.For(id).Any(e => e.Type == "agent.completed")));
        }

        using var stats = await hosts[0].Client.GetAsync("/agents/queue/stats");
        var counts = await stats.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((0, 0), (counts.GetProperty("pending").GetInt32(), counts.GetProperty("active").GetInt32()));
    }
}
