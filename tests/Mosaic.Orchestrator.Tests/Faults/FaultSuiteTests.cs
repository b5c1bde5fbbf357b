using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;
using Xunit.Abstractions;

namespace Mosaic.Orchestrator.Tests.Faults;

/// <summary>
/// The fault suite: the service as its own process, real redis-servers, a real small disk, hostile requests over real
/// sockets. Each scenario adds its row to one table (<see cref="FaultTable"/>) and fails when anything was lost, ran
/// twice at once, answered an unexpected 5xx or was left behind (agent processes, worktrees, file descriptors).
/// Run alone with <c>dotnet test --filter Category=Faults</c>; CI runs it with the rest.
/// </summary>
[Trait("Category", "Faults")]
[Collection("Faults")]
public sealed class FaultSuiteTests(FaultTable table, ITestOutputHelper output)
{
    private const int Tasks = 30;
    private static readonly string[] Ended = ["completed", "failed", "killed"];

    [Fact]
    public async Task Kill_9_of_the_service_with_30_tasks_queued_and_running_then_a_restart_loses_none_and_runs_none_twice()
    {
        var clock = Stopwatch.StartNew();
        var dataDir = TempDirectory.Create("fault-kill9");
        var runs = TempDirectory.Create("fault-runs");
        var settings = new Dictionary<string, string?> { ["AGENT_COMMAND"] = AgentCommand(runs, 1), ["MAX_CONCURRENT_AGENTS"] = "6", ["LEASE_DURATION_SECONDS"] = "10" };
        var ids = new List<Guid>();
        int runningAtKill;
        await using (var first = await FaultService.StartAsync(dataDir, settings))
        {
            for (var i = 0; i < Tasks; i++)
            {
                ids.Add(await first.SpawnAsync($"T-k9-{i}", GitRemote.Default.Bare));
            }

            await Wait.UntilAsync(() => Starts(runs) >= 6, "six agents to run", TimeSpan.FromSeconds(60));
            runningAtKill = ProcessesOf(ids);
            await first.Process.KillHardAsync();
        }

        await using var second = await FaultService.StartAsync(dataDir, settings);
        var descriptors = second.Process.OpenFileDescriptors;
        var agents = await AllEndedAsync(second, Tasks, TimeSpan.FromSeconds(120));
        var completed = agents.Count(a => a.GetProperty("status").GetString() == "completed");
        Record(new FaultRow(
            "kill -9 of the service (embedded), 30 tasks queued and running, restart",
            $"{completed}/{Tasks} completed; {runningAtKill} agent processes alive at the kill; {Starts(runs)} starts",
            Tasks - completed, Twice(runs), 0,
            await Leftovers.ProcessesAfterAsync(ids, TimeSpan.FromSeconds(15)),
            await Leftovers.WorktreesAfterAsync(TimeSpan.FromSeconds(15), dataDir),
            await Leftovers.DescriptorsGrownAsync(second.Process, descriptors, TimeSpan.FromSeconds(10)),
            clock.Elapsed));
    }

    [Fact]
    public async Task A_redis_server_restart_mid_run_with_appendonly_loses_no_task()
    {
        var clock = Stopwatch.StartNew();
        await using var redis = await RedisServer.StartAsync("--appendfsync", "always");
        var runs = TempDirectory.Create("fault-runs");
        var dataDir = TempDirectory.Create("fault-redis");
        var settings = Valkey(redis, RedisFixture.NewPrefix(), "n1", AgentCommand(runs, 1));
        await using var service = await FaultService.StartAsync(dataDir, settings);
        var descriptors = service.Process.OpenFileDescriptors;
        var ids = new List<Guid>();
        for (var i = 0; i < Tasks; i++)
        {
            ids.Add(await service.SpawnAsync($"T-redis-{i}", GitRemote.Default.Bare));
        }

        await Wait.UntilAsync(() => Starts(runs) >= 6, "six agents to run", TimeSpan.FromSeconds(60));
        await redis.StopProcessAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        await redis.StartProcessAsync("--appendfsync", "always");

        var agents = await AllEndedAsync(service, Tasks, TimeSpan.FromSeconds(120));
        var completed = agents.Count(a => a.GetProperty("status").GetString() == "completed");
        Record(new FaultRow(
            "redis-server restart mid-run (appendonly, valkey backend), 30 tasks",
            $"{completed}/{Tasks} completed{NotCompleted(agents)}; {Starts(runs)} starts",
            Tasks - completed, Twice(runs), 0,
            await Leftovers.ProcessesAfterAsync(ids, TimeSpan.FromSeconds(15)),
            await Leftovers.WorktreesAfterAsync(TimeSpan.FromSeconds(15), dataDir),
            await Leftovers.DescriptorsGrownAsync(service.Process, descriptors, TimeSpan.FromSeconds(10)),
            clock.Elapsed));
    }

    [Fact]
    public async Task One_of_three_instances_killed_its_tasks_finish_elsewhere_within_a_lease()
    {
        const int lease = 6;
        var clock = Stopwatch.StartNew();
        await using var redis = await RedisServer.StartAsync();
        var runs = TempDirectory.Create("fault-runs");
        var prefix = RedisFixture.NewPrefix();
        var dirs = Enumerable.Range(1, 3).Select(n => TempDirectory.Create($"fault-n{n}")).ToArray();
        Dictionary<string, string?> Node(int n) => new(Valkey(redis, prefix, $"n{n}", AgentCommand(runs, 2)))
        {
            ["MAX_CONCURRENT_AGENTS"] = "3",
            ["LEASE_DURATION_SECONDS"] = lease.ToString(CultureInfo.InvariantCulture),
            ["RETRY_BASE_DELAY_SECONDS"] = "0", // the retry's backoff is a policy of its own, not the takeover measured here
        };

        await using var n1 = await FaultService.StartAsync(dirs[0], Node(1));
        await using var n2 = await FaultService.StartAsync(dirs[1], Node(2));
        var n3 = await FaultService.StartAsync(dirs[2], Node(3));
        var ids = new List<Guid>();
        List<Guid> victims = [];
        DateTimeOffset killedAt;
        try
        {
            // Spawned through n3, whose worker hears of them first and takes the first slots: through another
            // instance, whether n3 ever ran two at once was a race its loops could lose for the whole run on a busy
            // machine.
            for (var i = 0; i < Tasks; i++)
            {
                ids.Add(await n3.SpawnAsync($"T-three-{i}", GitRemote.Default.Bare));
            }

            await Wait.UntilAsync(async () =>
            {
                victims = [.. (await n1.AgentsAsync())
                    .Where(a => a.GetProperty("status").GetString() == "running" && a.TryGetProperty("node", out var node) && node.GetString() == "n3")
                    .Select(a => a.GetProperty("agentId").GetGuid())];
                return victims.Count >= 2;
            }, "n3 to run two agents", TimeSpan.FromSeconds(60));
            await n3.Process.KillHardAsync();
            killedAt = DateTimeOffset.UtcNow;
        }
        finally
        {
            await n3.DisposeAsync();
        }

        var agents = await AllEndedAsync(n1, Tasks, TimeSpan.FromSeconds(120));
        var completed = agents.Count(a => a.GetProperty("status").GetString() == "completed");
        var moved = agents.Where(a => victims.Contains(a.GetProperty("agentId").GetGuid())).ToList();
        // Within a lease: the lease runs out, another instance's sweep requeues the task, one leases it and runs the
        // agent (2 s) and the pipeline; allowed: the lease, the agent's run and 4 s for the rest on a busy machine.
        var late = moved.Count(a => a.GetProperty("node").GetString() == "n3"
            || a.GetProperty("completedAt").GetDateTimeOffset() - killedAt > TimeSpan.FromSeconds(lease + 2 + 4));
        var finishedAfter = moved.Select(a => (a.GetProperty("completedAt").GetDateTimeOffset() - killedAt).TotalSeconds).DefaultIfEmpty().Max();

        // The killed instance comes back, as an operator would bring it back: its start clears what the kill left (worktrees).
        await using var back = await FaultService.StartAsync(dirs[2], Node(3));
        Record(new FaultRow(
            $"one of three instances killed (valkey, lease {lease} s), 30 tasks",
            $"{completed}/{Tasks} completed; its {victims.Count} running tasks finished on {string.Join(',', moved.Select(a => a.GetProperty("node").GetString()).Distinct())} at most {finishedAfter:F1} s after the kill (lease {lease} s + agent 2 s); {late} late",
            Tasks - completed + late, Twice(runs), 0,
            await Leftovers.ProcessesAfterAsync(ids, TimeSpan.FromSeconds(15)),
            await Leftovers.WorktreesAfterAsync(TimeSpan.FromSeconds(15), dirs),
            0,
            clock.Elapsed));
    }

    [Fact]
    public async Task Ten_thousand_malformed_requests_answer_no_5xx()
    {
        var clock = Stopwatch.StartNew();
        await using var service = await FaultService.StartAsync(TempDirectory.Create("fault-malformed"));
        using (var pause = await service.Client.PostAsync("/agents/queue/pause", null))
        {
            pause.EnsureSuccessStatusCode(); // nothing a request happens to get right runs
        }

        var descriptors = service.Process.OpenFileDescriptors;
        using var flood = new HttpClient { BaseAddress = service.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var serverErrors = new System.Collections.Concurrent.ConcurrentBag<string>();
        const int total = 10_000;
        await Parallel.ForEachAsync(Enumerable.Range(0, total), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var random = new Random(i);
            var (name, status) = i % 10 == 9
                ? await MalformedWire.SendAsync(service.Client.BaseAddress!, i, random)
                : await MalformedHttp.SendAsync(flood, i, random);
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            // 505 is HTTP's own answer to "HTTP/9.9" (Kestrel's, before any of our code): the right one, not a failure.
            if (status >= 500 && status != 505)
            {
                serverErrors.Add($"{name}: {status}");
            }
        });

        flood.Dispose(); // its pooled keep-alive connections are not the service's leak
        using var health = await service.Client.GetAsync("/health");
        foreach (var error in serverErrors.Take(20))
        {
            output.WriteLine(error);
        }

        Record(new FaultRow(
            "10,000 malformed requests (random bytes, invalid UTF-8, deep nesting, huge numbers, wrong types, bad paths, header abuse)",
            $"answers: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => s.Key == 0 ? $"closed {s.Value}" : $"{s.Key} {s.Value}"))}; /health {(int)health.StatusCode} after",
            0, 0, serverErrors.Count + (health.IsSuccessStatusCode ? 0 : 1), 0,
            Leftovers.Worktrees(service.DataDir),
            await Leftovers.DescriptorsGrownAsync(service.Process, descriptors, TimeSpan.FromSeconds(10)),
            clock.Elapsed));
    }

    [Fact]
    public async Task A_full_disk_ends_the_agent_that_filled_it_refuses_writes_with_507_and_the_service_recovers()
    {
        var clock = Stopwatch.StartNew();
        using var disk = SmallDisk.TryMount(64);
        if (disk is null)
        {
            Record(new FaultRow("disk full and recovered", "not run: mounting a tmpfs needs root", 0, 0, 0, 0, 0, 0, clock.Elapsed));
            return;
        }

        var dataDir = Path.Combine(disk.Path, "data");
        var settings = new Dictionary<string, string?>
        {
            ["DISK_MIN_FREE_MB"] = "16",
            ["DISK_RESERVE_MB"] = "4",
            ["AGENT_COMMAND"] = "case \"$MOSAIC_TASK_ID\" in T-fill*) head -c 200000000 /dev/zero > fill.bin; sleep 60;; *) date +%s%N > agent-output.txt;; esac",
        };
        var ids = new List<Guid>();
        string filler;
        int refused;
        var spawns = new List<int>();
        string reason;
        await using (var first = await FaultService.StartAsync(dataDir, settings))
        {
            ids.Add(await first.SpawnAsync("T-fill", GitRemote.Default.Bare));
            var filled = (await AllEndedAsync(first, 1, TimeSpan.FromSeconds(60))).Single();
            reason = filled.GetProperty("reason").GetString()!;
            await Leftovers.WorktreesAfterAsync(TimeSpan.FromSeconds(15), dataDir); // its cleanup frees what it wrote

            filler = disk.Fill(); // now someone else fills the disk to the last byte
            // The first writes on the full disk still go through: into the store's reserve, and into the pages its
            // write-ahead log already holds. Then there is no room.
            using (var pause = await first.Client.PostAsync("/agents/queue/pause", null))
            {
                pause.EnsureSuccessStatusCode(); // what the full disk accepts waits (and is killed below)
            }

            for (var i = 0; i < 30 && spawns.LastOrDefault() is 0 or 202; i++)
            {
                using var spawn = await first.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody($"T-on-full-{i}", repository: GitRemote.Default.Bare)));
                spawns.Add((int)spawn.StatusCode);
            }

            refused = spawns[^1];
        }

        // A start on the full disk (topped up: the store's checkpoint at the stop freed its log), then the space comes back.
        var topUp = disk.Fill("filler-2.bin");
        await using var second = await FaultService.StartAsync(dataDir, settings);
        var notReady = await second.ReadinessAsync();
        File.Delete(filler);
        File.Delete(topUp);
        await Wait.UntilAsync(async () => await second.ReadinessAsync() == HttpStatusCode.OK, "readiness once the space is back");
        using (var killAll = await second.Client.PostAsync("/agents/kill-all", null))
        using (var resume = await second.Client.PostAsync("/agents/queue/resume", null))
        {
            resume.EnsureSuccessStatusCode();
        }

        await Wait.UntilAsync(async () => await second.ReadinessAsync() == HttpStatusCode.OK, "readiness once the space is back");
        ids.Add(await second.SpawnAsync("T-after-full", GitRemote.Default.Bare));
        await Wait.UntilAsync(async () => (await second.AgentsAsync()).Any(a => a.GetProperty("taskId").GetString() == "T-after-full" && Ended.Contains(a.GetProperty("status").GetString())),
            "the agent after the disk was freed to end", TimeSpan.FromSeconds(60));
        var after = (await second.AgentsAsync()).Single(a => a.GetProperty("taskId").GetString() == "T-after-full");
        var completed = after.GetProperty("status").GetString() == "completed";
        Record(new FaultRow(
            "disk full (tmpfs DATA_DIR, floor 16 MB) and recovered",
            $"agent that filled it: {reason}; spawns on the full disk: {spawns.Count(c => c == 202)} accepted into the space the store already holds{(refused == 202 ? "" : $", then {refused}")}; restart on the full disk: listening, readiness {(int)notReady}; after freeing: next agent {(completed ? "completed" : $"NOT completed{NotCompleted([after])}")}",
            (reason == "disk-full" ? 0 : 1) + (completed ? 0 : 1) + (notReady == HttpStatusCode.ServiceUnavailable ? 0 : 1), 0, spawns.Count(c => c >= 500 && c != 507),
            await Leftovers.ProcessesAfterAsync(ids, TimeSpan.FromSeconds(15)),
            await Leftovers.WorktreesAfterAsync(TimeSpan.FromSeconds(15), dataDir),
            0,
            clock.Elapsed));
    }

    [Fact]
    public async Task The_store_files_removed_under_the_service_are_noticed_and_readiness_fails()
    {
        var clock = Stopwatch.StartNew();
        var dataDir = TempDirectory.Create("fault-store");
        await using var service = await FaultService.StartAsync(dataDir);
        var ids = new List<Guid> { await service.SpawnAsync("T-store", GitRemote.Default.Bare) };
        await AllEndedAsync(service, 1, TimeSpan.FromSeconds(60));
        var descriptors = service.Process.OpenFileDescriptors;
        foreach (var file in Directory.EnumerateFiles(dataDir, "orchestrator.db*").Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
        {
            File.Delete(file);
        }

        var ready = await service.ReadinessAsync();
        using var spawn = await service.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-store-gone", repository: GitRemote.Default.Bare)));
        var noticed = ready == HttpStatusCode.ServiceUnavailable && spawn.StatusCode == HttpStatusCode.ServiceUnavailable;
        Record(new FaultRow(
            "store files removed under the running service (embedded)",
            $"readiness {(int)ready}, spawn {(int)spawn.StatusCode} (nothing queued into the removed file)",
            noticed ? 0 : 1, 0, 0,
            await Leftovers.ProcessesAfterAsync(ids, TimeSpan.FromSeconds(5)),
            Leftovers.Worktrees(dataDir),
            await Leftovers.DescriptorsGrownAsync(service.Process, descriptors, TimeSpan.FromSeconds(5)),
            clock.Elapsed));
    }

    private void Record(FaultRow row)
    {
        table.Add(row);
        output.WriteLine(FaultTable.Header);
        output.WriteLine(row.Markdown);
        Assert.True(row.Clean, row.Markdown);
    }

    /// <summary>
    /// An agent that takes an flock on its task while it runs (the kernel drops it when the process dies, however it
    /// dies): a second run of the same task while the first still runs finds it held and says "twice".
    /// </summary>
    private static string AgentCommand(string runs, int seconds) =>
        $"exec 9>\"{runs}/$MOSAIC_TASK_ID.lock\"; flock -n 9 || echo \"$MOSAIC_TASK_ID twice\" >> \"{runs}/runs.log\"; " +
        $"echo \"$MOSAIC_TASK_ID start\" >> \"{runs}/runs.log\"; sleep {seconds}; date +%s%N > agent-output.txt";

    private static string NotCompleted(IEnumerable<JsonElement> agents)
    {
        var others = agents.Where(a => a.GetProperty("status").GetString() != "completed")
            .Select(a => $"{a.GetProperty("status").GetString()} {(a.TryGetProperty("reason", out var r) ? r.GetString() : "")}: {(a.TryGetProperty("error", out var e) ? e.GetString() : "")}")
            .ToList();
        return others.Count == 0 ? "" : $" ({string.Join("; ", others.Take(3))})";
    }

    private static int Starts(string runs) => Lines(runs).Count(l => l.EndsWith(" start", StringComparison.Ordinal));

    private static int Twice(string runs) => Lines(runs).Count(l => l.EndsWith(" twice", StringComparison.Ordinal));

    private static string[] Lines(string runs)
    {
        var log = Path.Combine(runs, "runs.log");
        return File.Exists(log) ? File.ReadAllLines(log) : [];
    }

    private static int ProcessesOf(IEnumerable<Guid> ids) => Leftovers.Processes(ids);

    private static Dictionary<string, string?> Valkey(RedisServer redis, string prefix, string node, string command)
    {
        var settings = new Dictionary<string, string?>
        {
            ["NODE_ID"] = node,
            ["AGENT_COMMAND"] = command,
            ["MAX_CONCURRENT_AGENTS"] = "6",
            ["LEASE_DURATION_SECONDS"] = "10",
            ["VALKEY_TIMEOUT_MS"] = "2000",
        };
        redis.Configure(settings, prefix);
        return settings;
    }

    /// <summary>Polls the list until <paramref name="count"/> agents have ended; a service that does not answer meanwhile (its store restarting) is asked again.</summary>
    private static async Task<List<JsonElement>> AllEndedAsync(FaultService service, int count, TimeSpan within)
    {
        List<JsonElement> agents = [];
        try
        {
            await WaitAsync();
        }
        catch (TimeoutException ex)
        {
            // What the service said is the only account of why it stalled: a process of its own logs to its stdout.
            var said = (service.Process.Output + service.Process.Error).Split('\n');
            throw new TimeoutException($"{ex.Message}; the service's last lines:\n{string.Join('\n', said.TakeLast(80))}", ex);
        }

        return agents;

        Task WaitAsync() => Wait.UntilAsync(async () =>
        {
            await Task.Delay(200); // a list of every agent is not free: ask five times a second
            try
            {
                agents = await service.AgentsAsync();
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }

            return agents.Count(a => Ended.Contains(a.GetProperty("status").GetString())) >= count;
        }, $"{count} agents to end", within);
    }
}
