using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// Tasks queued per second through POST /agents/spawn/batch next to POST /agents/spawn, in the same run, queue paused
/// (the spawn path, not the worker), closed loop at the same concurrency, alternating in short slices so drift in the
/// machine's speed hits both alike.
/// </summary>
internal static class BatchBench
{
    public static async Task RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
        var batchSize = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
        var dataRoot = Environment.GetEnvironmentVariable("BENCH_DATA_ROOT") ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        var root = Path.Combine(dataRoot, $"mosaic-batchbench-{Guid.NewGuid():N}");
        try
        {
            var repository = BenchRepository.Create(Path.Combine(root, "repo"), files: 1);
            await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>
            {
                ["DATA_DIR"] = Path.Combine(root, "data"),
                ["AGENT_RUNTIME"] = "command",
                ["AGENT_COMMAND"] = "true",
                ["ALLOW_LOCAL_REPOSITORIES"] = "true",
                ["MAX_QUEUED_TASKS"] = "10000000",
                ["RATE_LIMIT_WRITES_PER_SECOND"] = "1000000",
                ["RATE_LIMIT_WRITES_BURST"] = "1000000",
            });
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = service.Address };
            (await client.PostAsync("/agents/queue/pause", null)).Dispose();

            long task = 0;
            Task<bool> Single() => SpawnAsync(client, "/agents/spawn", Body(repository, Interlocked.Increment(ref task)));
            Task<bool> Batch()
            {
                var bodies = new string[batchSize];
                for (var i = 0; i < batchSize; i++)
                {
                    bodies[i] = Body(repository, Interlocked.Increment(ref task));
                }

                return SpawnAsync(client, "/agents/spawn/batch", $"{{\"items\":[{string.Join(",", bodies)}]}}");
            }

            // Warm-up: the JIT's tiers need a few dozen calls of each path.
            await ClosedLoopAsync(TimeSpan.FromSeconds(2), concurrency, Single);
            await ClosedLoopAsync(TimeSpan.FromSeconds(2), concurrency, Batch);

            // CPU time of the service and of this client per kind: what a queued task costs each, whatever the machine's
            // other load does to the rates.
            using var serviceProcess = Process.GetProcessById(service.Pid);
            (TimeSpan Service, TimeSpan Client) Cpu()
            {
                serviceProcess.Refresh();
                return (serviceProcess.TotalProcessorTime, Environment.CpuUsage.TotalTime);
            }

            const int slices = 10;
            var single = (Requests: 0L, Errors: 0L, Elapsed: TimeSpan.Zero);
            var batch = (Requests: 0L, Errors: 0L, Elapsed: TimeSpan.Zero);
            var singleCpu = (Service: TimeSpan.Zero, Client: TimeSpan.Zero);
            var batchCpu = (Service: TimeSpan.Zero, Client: TimeSpan.Zero);
            var batchLatencies = new List<double>();
            for (var slice = 0; slice < slices; slice++)
            {
                var before = Cpu();
                var s = await ClosedLoopAsync(TimeSpan.FromSeconds(seconds / slices), concurrency, Single);
                var between = Cpu();
                single = (single.Requests + s.Requests, single.Errors + s.Errors, single.Elapsed + s.Elapsed);
                var b = await ClosedLoopAsync(TimeSpan.FromSeconds(seconds / slices), concurrency, Batch);
                var after = Cpu();
                batch = (batch.Requests + b.Requests, batch.Errors + b.Errors, batch.Elapsed + b.Elapsed);
                batchLatencies.AddRange(b.Latencies);
                singleCpu = (singleCpu.Service + between.Service - before.Service, singleCpu.Client + between.Client - before.Client);
                batchCpu = (batchCpu.Service + after.Service - between.Service, batchCpu.Client + after.Client - between.Client);
            }

            batchLatencies.Sort();
            var singleRate = single.Requests / single.Elapsed.TotalSeconds;
            var batchRate = batch.Requests * batchSize / batch.Elapsed.TotalSeconds;
            Console.WriteLine($"# batch benchmark ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {seconds}s per kind, concurrency {concurrency}, queue paused, DATA_DIR under {dataRoot})");
            Console.WriteLine("| path | requests | errors | tasks/s |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine($"| POST /agents/spawn (one task each) | {single.Requests} | {single.Errors} | {singleRate:F0} |");
            Console.WriteLine($"| POST /agents/spawn/batch ({batchSize} tasks each) | {batch.Requests} | {batch.Errors} | {batchRate:F0} |");
            Console.WriteLine();
            Console.WriteLine($"batch / single tasks per second = {batchRate / singleRate:F1}x (target >= 5x); batch request p50 " +
                $"{batchLatencies[batchLatencies.Count / 2]:F1} ms, p99 {batchLatencies[Math.Min(batchLatencies.Count - 1, batchLatencies.Count * 99 / 100)]:F1} ms");
            // Per queued task: a ratio of the two totals is the most the rates' ratio can reach when both kinds are
            // CPU-bound on this machine; cores busy shows whether they were (2 = every core of this machine).
            double PerTask(TimeSpan cpu, double tasks) => cpu.TotalMicroseconds / tasks;
            var singleTasks = (double)single.Requests;
            var batchTasks = (double)batch.Requests * batchSize;
            var (singleService, singleClient) = (PerTask(singleCpu.Service, singleTasks), PerTask(singleCpu.Client, singleTasks));
            var (batchService, batchClient) = (PerTask(batchCpu.Service, batchTasks), PerTask(batchCpu.Client, batchTasks));
            Console.WriteLine($"CPU per queued task (us), service + bench client: single {singleService:F1} + {singleClient:F1}, batch {batchService:F1} + {batchClient:F1}; " +
                $"ratio of the totals {(singleService + singleClient) / (batchService + batchClient):F1}x; cores busy: single " +
                $"{(singleCpu.Service + singleCpu.Client) / single.Elapsed:F2}, batch {(batchCpu.Service + batchCpu.Client) / batch.Elapsed:F2}");
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // a file still held for a moment; the temp folder is harmless
            }
        }
    }

    private static string Body(string repository, long task) =>
        $$$"""{"taskId":"b-{{{task}}}","agentType":"worker","priority":5,"context":{"repository":"{{{repository}}}","branch":"main","workItems":["B-1"]}}""";

    private static async Task<bool> SpawnAsync(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        return response.StatusCode == HttpStatusCode.Accepted;
    }

    private static async Task<(long Requests, long Errors, TimeSpan Elapsed, List<double> Latencies)> ClosedLoopAsync(TimeSpan duration, int workers, Func<Task<bool>> call)
    {
        long requests = 0, errors = 0;
        var latencies = new List<double>[workers];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            var mine = latencies[w] = [];
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                var ok = await call();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref requests);
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        return (requests, errors, clock.Elapsed, [.. latencies.SelectMany(l => l)]);
    }
}
