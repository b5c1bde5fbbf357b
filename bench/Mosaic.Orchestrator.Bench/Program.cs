using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

// Spawn benchmark: starts the real service (Release build, embedded store, command runtime with a no-op
// command) as a child process, then measures from this process over loopback, in one run:
//   1. POST /agents/spawn open-loop at a moderate fixed rate, worker running every agent: spawn latency p50/p99;
//   2. GET /health and POST /agents/spawn (queue paused) closed-loop at concurrency C, alternating in ten slices:
//      spawn throughput as a ratio to the /health rate of the same moments.
// Usage: dotnet run -c Release --project bench/Mosaic.Orchestrator.Bench -- [seconds=5] [concurrency=8] [rate=100]
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
var moderateRate = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;

var service = Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll");
// DATA_DIR goes on tmpfs when there is one: this machine's disk is slow to create files right after many were
// deleted (ext4 inode reuse), which every agent's workspace does; BENCH_DATA_ROOT overrides.
var dataRoot = Environment.GetEnvironmentVariable("BENCH_DATA_ROOT") ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
var dataDir = Path.Combine(dataRoot, $"mosaic-bench-{Guid.NewGuid():N}");
var port = FreePort();
var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
start.ArgumentList.Add(service);
foreach (var (name, value) in new Dictionary<string, string>
{
    ["DATA_DIR"] = dataDir,
    ["ORCHESTRATOR_PORT"] = port.ToString(CultureInfo.InvariantCulture),
    ["AGENT_RUNTIME"] = "command",
    ["AGENT_COMMAND"] = "true",
    ["MAX_QUEUED_TASKS"] = "10000000",
    ["RATE_LIMIT_WRITES_PER_SECOND"] = "1000000",
    ["RATE_LIMIT_WRITES_BURST"] = "1000000",
    ["RATE_LIMIT_READS_PER_SECOND"] = "1000000",
    ["RATE_LIMIT_READS_BURST"] = "1000000",
    ["Logging__LogLevel__Default"] = "Warning",
})
{
    start.Environment[name] = value;
}

using var server = Process.Start(start)!;
var drain = Task.WhenAll(server.StandardOutput.ReadToEndAsync(), server.StandardError.ReadToEndAsync());
using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 })
{
    BaseAddress = new Uri($"http://127.0.0.1:{port}"),
};
try
{
    await WaitForReadyAsync(client);
    await RunClosedLoopAsync(client, TimeSpan.FromSeconds(2), concurrency, _ => Health(client)); // warm-up (JIT tiers)
    await RunOpenLoopAsync(TimeSpan.FromSeconds(2), moderateRate, i => Spawn(client, $"warm-{i}"));

    // Moderate load with the worker live: every spawned agent really runs (a process per agent) while we measure.
    var paced = await RunOpenLoopAsync(TimeSpan.FromSeconds(seconds), moderateRate, i => Spawn(client, $"open-{i}"));
    var completed = await StatAsync(client, "completed");

    // Throughput of the spawn path itself (validate, store, event, 202) with the queue paused, so the worker's
    // process starts do not take the CPU: a 2-core machine starts only a few hundred processes a second. Health and
    // spawn alternate in short slices so that drift in the machine's speed hits both alike.
    (await client.PostAsync("/agents/queue/pause", null)).Dispose();
    var slices = 10;
    var healthSlices = new List<Result>();
    var spawnSlices = new List<Result>();
    for (var slice = 0; slice < slices; slice++)
    {
        healthSlices.Add(await RunClosedLoopAsync(client, TimeSpan.FromSeconds(seconds / slices), concurrency, _ => Health(client)));
        spawnSlices.Add(await RunClosedLoopAsync(client, TimeSpan.FromSeconds(seconds / slices), concurrency, i => Spawn(client, $"closed-{slice}-{i}")));
    }

    var health = Result.Merge(healthSlices);
    var spawn = Result.Merge(spawnSlices);

    Console.WriteLine($"# spawn benchmark ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {seconds}s per phase, concurrency {concurrency}, DATA_DIR under {dataRoot})");
    Console.WriteLine("| phase | requests | errors | rate (req/s) | p50 (ms) | p99 (ms) |");
    Console.WriteLine("|---|---|---|---|---|---|");
    Row($"POST /agents/spawn, open loop at {moderateRate}/s, worker running", paced);
    Row("GET /health, closed loop (interleaved)", health);
    Row("POST /agents/spawn, closed loop, queue paused (interleaved)", spawn);
    Console.WriteLine();
    Console.WriteLine($"agents completed by the worker by the end of the open-loop phase: {completed}");
    Console.WriteLine($"spawn throughput / health throughput = {spawn.Rate / health.Rate:F2} (target >= 0.30)");
    Console.WriteLine($"spawn p99 at {moderateRate}/s = {paced.P99:F2} ms (target < 5 ms)");
}
finally
{
    server.Kill(entireProcessTree: true);
    await server.WaitForExitAsync();
    await drain;
    try
    {
        Directory.Delete(dataDir, recursive: true);
    }
    catch (IOException)
    {
        // an agent process may still hold a file for a moment; the temp folder is harmless
    }
}

static void Row(string name, Result r) =>
    Console.WriteLine($"| {name} | {r.Count} | {r.Errors} | {r.Rate:F0} | {r.P50:F2} | {r.P99:F2} |");

static async Task<long> StatAsync(HttpClient client, string name)
{
    using var response = await client.GetAsync("/agents/queue/stats");
    using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    return json.RootElement.GetProperty(name).GetInt64();
}

static async Task<bool> Health(HttpClient client)
{
    using var response = await client.GetAsync("/health");
    return response.StatusCode == HttpStatusCode.OK;
}

static async Task<bool> Spawn(HttpClient client, string taskId)
{
    var body = $$$"""{"taskId":"{{{taskId}}}","agentType":"worker","priority":5,"context":{"repository":"https://git.example.test/bench.git","branch":"main","workItems":["B-1"]}}""";
    using var content = new StringContent(body, Encoding.UTF8, "application/json");
    using var response = await client.PostAsync("/agents/spawn", content);
    return response.StatusCode == HttpStatusCode.Accepted;
}

static async Task<Result> RunClosedLoopAsync(HttpClient client, TimeSpan duration, int workers, Func<long, Task<bool>> call)
{
    var latencies = new List<double>[workers];
    var errors = 0;
    long next = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
    {
        var mine = latencies[w] = [];
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            var ok = await call(Interlocked.Increment(ref next));
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (!ok)
            {
                Interlocked.Increment(ref errors);
            }
        }
    }));
    return Result.From([.. latencies.SelectMany(l => l)], errors, clock.Elapsed);
}

static async Task<Result> RunOpenLoopAsync(TimeSpan duration, int rate, Func<long, Task<bool>> call)
{
    var interval = TimeSpan.FromSeconds(1.0 / rate);
    var calls = new List<Task<(double, bool)>>();
    var clock = Stopwatch.StartNew();
    for (long i = 0; clock.Elapsed < duration; i++)
    {
        var due = interval * i;
        var wait = due - clock.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        var id = i;
        calls.Add(Task.Run(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            var ok = await call(id);
            return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, ok);
        }));
    }

    var done = await Task.WhenAll(calls);
    return Result.From([.. done.Select(d => d.Item1)], done.Count(d => !d.Item2), clock.Elapsed);
}

static async Task WaitForReadyAsync(HttpClient client)
{
    var deadline = DateTime.UtcNow.AddSeconds(30);
    while (DateTime.UtcNow < deadline)
    {
        try
        {
            using var response = await client.GetAsync("/health/ready");
            if (response.IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
            // not listening yet
        }

        await Task.Delay(100);
    }

    throw new TimeoutException("the service did not become ready");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed record Result(int Count, int Errors, double Rate, double P50, double P99)
{
    public List<double> Latencies { get; init; } = [];

    public TimeSpan Elapsed { get; init; }

    public static Result Merge(List<Result> parts) =>
        From([.. parts.SelectMany(p => p.Latencies)], parts.Sum(p => p.Errors), TimeSpan.FromTicks(parts.Sum(p => p.Elapsed.Ticks)));

    public static Result From(List<double> latencies, int errors, TimeSpan elapsed)
    {
        latencies.Sort();
        double At(double q) => latencies.Count == 0 ? 0 : latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        return new Result(latencies.Count, errors, latencies.Count / elapsed.TotalSeconds, At(0.50), At(0.99)) { Latencies = latencies, Elapsed = elapsed };
    }
}
