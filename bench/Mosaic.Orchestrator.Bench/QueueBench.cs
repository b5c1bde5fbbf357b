using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Storage.Valkey;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// The Valkey queue alone, on a running server: enqueue N no-op tasks (agent record, indexes and agent.spawned event,
/// as a spawn stores them), then lease and complete them all at a given concurrency, as the worker does: each slot
/// leases once, then completes each task (the compare-and-set with its agent.completed event) and leases its next
/// one in the same script call (<c>TryReplaceAndLeaseNextAsync</c>), with a new lease token each time. bench/queue-bench.sh runs
/// this next to BullMQ doing the same work on the same server.
/// </summary>
internal static class QueueBench
{
    // A warm-up round that compiles fewer methods than this finds the JIT settled (rounds after it compiled 1-20, the
    // rounds while tiering went on hundreds to 2,000).
    private const int SettledCompilations = 50;
    private const int MaxWarmupRounds = 20;

    public static async Task RunAsync(string[] args)
    {
        var port = int.Parse(args[0], CultureInfo.InvariantCulture);
        var jobs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        int[] concurrencies = args.Length > 2 ? [.. args[2].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))] : [1, 8];
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { "127.0.0.1", port } }, AllowAdmin = true });

        // Warm-up, not reported: rounds of BENCH_WARMUP_JOBS jobs (as many as measured by default) until .NET's tiered
        // compilation has settled. The runtime recompiles hot methods in the background (instrumented, then optimized
        // with what the instrumentation saw), and here that goes on for about 50,000 jobs: the rounds before it ends
        // ran up to twice as slow, and a phase measured during it reports the JIT, not the queue. A long-running
        // service is past it minutes after its start. bench/queue-bench.sh gives BullMQ as many warm-up jobs.
        var warmupRound = Environment.GetEnvironmentVariable("BENCH_WARMUP_JOBS") is { Length: > 0 } w ? int.Parse(w, CultureInfo.InvariantCulture) : jobs;
        var warmupJobs = 0;
        for (var round = 1; round <= MaxWarmupRounds; round++)
        {
            var compiledBefore = JitInfo.GetCompiledMethodCount();
            await DeleteKeysAsync(multiplexer, (await RunOnceAsync(multiplexer, warmupRound, 8)).Prefix);
            warmupJobs += warmupRound;
            if (JitInfo.GetCompiledMethodCount() - compiledBefore < SettledCompilations)
            {
                break;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours warmup_jobs={warmupJobs}"));
        var server = multiplexer.GetServer(multiplexer.GetEndPoints()[0]);
        foreach (var concurrency in concurrencies)
        {
            // CPU per job as well as jobs per second: on a shared machine the rates move with the load, the CPU less.
            var (clientCpu, serverCpu) = (Environment.CpuUsage.TotalTime, await ServerCpuAsync(server));
            var (add, process, prefix) = await RunOnceAsync(multiplexer, jobs, concurrency);
            var (clientUs, serverUs) = ((Environment.CpuUsage.TotalTime - clientCpu).TotalMicroseconds / jobs, (await ServerCpuAsync(server) - serverCpu).TotalMicroseconds / jobs);
            await DeleteKeysAsync(multiplexer, prefix);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ours concurrency={concurrency} jobs={jobs} add={jobs / add.TotalSeconds:F0}/s process={jobs / process.TotalSeconds:F0}/s total={jobs / (add + process).TotalSeconds:F0}/s cpu_us_per_job client={clientUs:F0} server={serverUs:F0}"));
        }
    }

    /// <summary>redis-server's CPU time so far (user + system, all its threads).</summary>
    private static async Task<TimeSpan> ServerCpuAsync(IServer server)
    {
        var cpu = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return TimeSpan.FromSeconds(double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture));
    }

    // The run's keys go, as bullmq/bench.mjs obliterates its queue: otherwise each run would start on a keyspace grown
    // by the runs before it (three keys per job here), and pay for the larger dictionary and its rehashing. After the
    // CPU is read, as BullMQ's obliterate is.
    private static async Task DeleteKeysAsync(ConnectionMultiplexer multiplexer, string prefix)
    {
        var server = multiplexer.GetServer(multiplexer.GetEndPoints()[0]);
        await foreach (var keys in server.KeysAsync(pattern: prefix + ":*", pageSize: 1000).Chunk(1000))
        {
            await multiplexer.GetDatabase().KeyDeleteAsync(keys);
        }
    }

    private static async Task<(TimeSpan Add, TimeSpan Process, string Prefix)> RunOnceAsync(ConnectionMultiplexer multiplexer, int jobs, int concurrency)
    {
        await using var valkey = new ValkeyConnection(multiplexer, $"bench{Guid.NewGuid():N}"[..13]);
        var store = new ValkeyAgentStore(valkey, maxActiveAgents: int.MaxValue);
        var now = DateTimeOffset.UtcNow;

        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < jobs)
            {
                var agent = NewAgent($"job-{i}", now);
                var spawned = new AgentEvent(AgentEventTypes.Spawned, agent.AgentId, agent.TaskId, now, null);
                await store.EnqueueAsync(agent, long.MaxValue, spawned, default);
            }
        }));
        var add = clock.Elapsed;

        var done = 0;
        clock.Restart();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            LeaseRequest NewLease() => new(new TaskLease($"bench/{w}", Guid.NewGuid().ToString("N")), now, now.AddMinutes(5));
            var first = NewLease();
            var leased = await store.LeaseNextAsync(first.Lease, first.Now, first.ExpiresAt, default);
            while (leased is not null)
            {
                var completed = AgentLifecycle.Completed(leased, 0, now);
                var ended = new AgentEvent(AgentEventTypes.Completed, leased.AgentId, leased.TaskId, now, null);
                var stored = await store.TryReplaceAndLeaseNextAsync(completed, leased.Version, ended, NewLease(), default)
                    ?? throw new InvalidOperationException($"the completion of {leased.AgentId} was refused");
                Interlocked.Increment(ref done);
                leased = stored.Next;
            }
        }));
        var process = clock.Elapsed;
        if (done != jobs)
        {
            throw new InvalidOperationException($"{done} of {jobs} jobs completed");
        }

        return (add, process, valkey.Prefix);
    }

    private static AgentRecord NewAgent(string taskId, DateTimeOffset now) => new()
    {
        AgentId = Guid.CreateVersion7(now),
        TaskId = taskId,
        AgentType = AgentType.Worker,
        GateProfile = GateProfile.Standard,
        Priority = 5,
        Context = new AgentContext("https://git.example.test/repo.git", "main", ["B-1"], []),
        Status = AgentStatus.Spawning,
        TaskState = TaskState.Pending,
        SpawnedAt = now,
        MaxAttempts = 3,
    };
}
