using System.Diagnostics;
using System.Globalization;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Storage.Valkey;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// The Valkey queue alone, on a running server: enqueue N no-op tasks (agent record, indexes and agent.spawned event,
/// as a spawn stores them), then lease and complete them all (the lease script, then the completing compare-and-set
/// with its agent.completed event, as a worker ends an attempt), at a given concurrency. bench/queue-bench.sh runs
/// this next to BullMQ doing the same work on the same server.
/// </summary>
internal static class QueueBench
{
    public static async Task RunAsync(string[] args)
    {
        var port = int.Parse(args[0], CultureInfo.InvariantCulture);
        var jobs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        int[] concurrencies = args.Length > 2 ? [.. args[2].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))] : [1, 8];
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { "127.0.0.1", port } } });

        // Warm-up (JIT tiering, script loading), not reported.
        await RunOnceAsync(multiplexer, Math.Min(jobs, 3000), 8);
        foreach (var concurrency in concurrencies)
        {
            var (add, process) = await RunOnceAsync(multiplexer, jobs, concurrency);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ours concurrency={concurrency} jobs={jobs} add={jobs / add.TotalSeconds:F0}/s process={jobs / process.TotalSeconds:F0}/s total={jobs / (add + process).TotalSeconds:F0}/s"));
        }
    }

    private static async Task<(TimeSpan Add, TimeSpan Process)> RunOnceAsync(ConnectionMultiplexer multiplexer, int jobs, int concurrency)
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
            var lease = new TaskLease($"bench/{w}", Guid.NewGuid().ToString("N"));
            while (await store.LeaseNextAsync(lease, now, now.AddMinutes(5), default) is { } leased)
            {
                var completed = leased with { Status = AgentStatus.Completed, TaskState = TaskState.Completed, Lease = null, CompletedAt = now };
                var ended = new AgentEvent(AgentEventTypes.Completed, leased.AgentId, leased.TaskId, now, null);
                if (await store.TryReplaceAsync(completed, leased.Version, null, ended, default) is not null)
                {
                    Interlocked.Increment(ref done);
                }
            }
        }));
        var process = clock.Elapsed;
        if (done != jobs)
        {
            throw new InvalidOperationException($"{done} of {jobs} jobs completed");
        }

        return (add, process);
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
