using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mosaic.Orchestrator.Bench;

// Benchmarks of the real service, started as a child process (Release build, embedded store, command runtime).
//   spawn [seconds=5] [concurrency=8] [rate=20]   spawn latency and throughput next to GET /health (see README)
//   batch [seconds=5] [concurrency=8] [batch=100]  tasks/s of POST /agents/spawn/batch next to single spawns
//   git [agents=10] [files=10000]                  spawn-to-agent-start on a large repository next to raw git
//   secrets [megabytes=100] [planted=50] [source-folder]   secret-scan MiB/s next to secretlint on the same files,
//                                                  recall and false alarms, archive cost; "secrets recall": only recall;
//                                                  "secrets peers [gitleaks|secretlint]": recall on peers' rule examples
//   queue <port> [jobs=20000] [concurrencies=1,8]  the Valkey queue alone on a running server (bench/queue-bench.sh)
//   gateway [requests=2000] [megabytes=8]          the model gateway's overhead on streamed answers, next to direct calls
//   sandbox [agents=10]                            spawn-to-agent-start with the Docker sandbox and without, next to docker run
//   idle [seconds=20] [NAME=value...]              resident memory at idle next to a trivial Kestrel app
// Usage: dotnet run -c Release --project bench/Mosaic.Orchestrator.Bench -- spawn|batch|git|secrets|queue|gateway|sandbox|idle [...]
var mode = args.Length > 0 && !char.IsAsciiDigit(args[0][0]) ? args[0] : "spawn";
var rest = mode == args.FirstOrDefault() ? args[1..] : args;
if (mode == "git")
{
    await GitBench.RunAsync(rest);
    return;
}

if (mode == "batch")
{
    await BatchBench.RunAsync(rest);
    return;
}

if (mode == "secrets")
{
    await SecretsBench.RunAsync(rest);
    return;
}

if (mode == "gateway")
{
    await GatewayBench.RunAsync(rest);
    return;
}

if (mode == "sandbox")
{
    await SandboxBench.RunAsync(rest);
    return;
}

if (mode == "idle")
{
    await IdleBench.RunAsync(rest);
    return;
}

if (mode == "kestrel-baseline")
{
    await TrivialKestrel.RunAsync();
    return;
}

if (mode == "queue")
{
    await QueueBench.RunAsync(rest);
    return;
}

args = rest;
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
var moderateRate = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;

var service = Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll");
// DATA_DIR goes on tmpfs when there is one: this machine's disk is slow to create files right after many were
// deleted (ext4 inode reuse), which every agent's workspace does; BENCH_DATA_ROOT overrides.
var dataRoot = Environment.GetEnvironmentVariable("BENCH_DATA_ROOT") ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
var dataDir = Path.Combine(dataRoot, $"mosaic-bench-{Guid.NewGuid():N}");
// Agents need a repository: a small local one (each agent still fetches, adds a worktree, commits and cleans up).
var repository = BenchRepository.Create(Path.Combine(dataRoot, $"mosaic-bench-repo-{Guid.NewGuid():N}"), files: 1);
var server = await ServiceProcess.StartAsync(new Dictionary<string, string>
{
    ["DATA_DIR"] = dataDir,
    ["AGENT_RUNTIME"] = "command",
    ["AGENT_COMMAND"] = "date +%s%N > out.txt",
    ["ALLOW_LOCAL_REPOSITORIES"] = "true",
    ["MAX_QUEUED_TASKS"] = "10000000",
    ["RATE_LIMIT_WRITES_PER_SECOND"] = "1000000",
    ["RATE_LIMIT_WRITES_BURST"] = "1000000",
    ["RATE_LIMIT_READS_PER_SECOND"] = "1000000",
    ["RATE_LIMIT_READS_BURST"] = "1000000",
});
using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = server.Address };
try
{
    // Warm-up until the JIT has optimised the hot paths (tiering needs a few dozen calls per method, the open loop
    // alone would measure unoptimised code): spawns with the queue paused, then those agents are killed.
    await RunClosedLoopAsync(client, TimeSpan.FromSeconds(2), concurrency, _ => Health(client));
    (await client.PostAsync("/agents/queue/pause", null)).Dispose();
    await RunClosedLoopAsync(client, TimeSpan.FromSeconds(2), concurrency, i => Spawn(client, $"warm-{i}", repository));
    (await client.PostAsync("/agents/kill-all", null)).Dispose();
    (await client.PostAsync("/agents/queue/resume", null)).Dispose();

    // Moderate load with the worker live: every spawned agent really runs (a process per agent) while we measure.
    // Each tick sends a spawn and, half a tick later, a GET /health: the two see the same machine and the same busy
    // worker, so the health figures are the floor that this machine's scheduling puts under any request. At least 600
    // samples of each, so that p99 is not one unlucky moment.
    var pacedDuration = TimeSpan.FromSeconds(Math.Max(seconds, 600.0 / moderateRate));
    var paced = await RunOpenLoopAsync(pacedDuration, moderateRate * 2, i => i % 2 == 0 ? Spawn(client, $"open-{i}", repository) : Health(client));
    var pacedSpawn = paced.Where(i => i % 2 == 0, pacedDuration);
    var pacedHealth = paced.Where(i => i % 2 == 1, pacedDuration);
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
        spawnSlices.Add(await RunClosedLoopAsync(client, TimeSpan.FromSeconds(seconds / slices), concurrency, i => Spawn(client, $"closed-{slice}-{i}", repository)));
    }

    var health = Result.Merge(healthSlices);
    var spawn = Result.Merge(spawnSlices);

    Console.WriteLine($"# spawn benchmark ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {seconds}s per phase, concurrency {concurrency}, DATA_DIR under {dataRoot})");
    Console.WriteLine("| phase | requests | errors | rate (req/s) | p50 (ms) | p99 (ms) |");
    Console.WriteLine("|---|---|---|---|---|---|");
    Row($"POST /agents/spawn, open loop at {moderateRate}/s, worker running", pacedSpawn);
    Row($"GET /health, same open loop at {moderateRate}/s (interleaved)", pacedHealth);
    Row("GET /health, closed loop (interleaved)", health);
    Row("POST /agents/spawn, closed loop, queue paused (interleaved)", spawn);
    Console.WriteLine();
    Console.WriteLine($"agents completed by the worker by the end of the open-loop phase: {completed}");
    Console.WriteLine($"spawn throughput / health throughput = {spawn.Rate / health.Rate:F2} (target >= 0.30)");
    Console.WriteLine($"spawn p99 at {moderateRate}/s = {pacedSpawn.P99:F2} ms (target < 5 ms; GET /health in the same loop: {pacedHealth.P99:F2} ms)");
}
finally
{
    await server.DisposeAsync();
    try
    {
        Directory.Delete(dataDir, recursive: true);
        Directory.Delete(Path.GetDirectoryName(repository)!, recursive: true);
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

static async Task<bool> Spawn(HttpClient client, string taskId, string repository)
{
    var body = $$$"""{"taskId":"{{{taskId}}}","agentType":"worker","priority":5,"context":{"repository":"{{{repository}}}","branch":"main","workItems":["B-1"]}}""";
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

static async Task<OpenLoop> RunOpenLoopAsync(TimeSpan duration, int rate, Func<long, Task<bool>> call)
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
    return new OpenLoop([.. done.Select(d => (d.Item1, d.Item2))], clock.Elapsed);
}

/// <summary>Every call of an open loop in the order sent (latency in ms, success), to be split by kind afterwards.</summary>
internal sealed record OpenLoop(List<(double Milliseconds, bool Ok)> Calls, TimeSpan Elapsed)
{
    public Result Where(Func<int, bool> index, TimeSpan elapsed)
    {
        var chosen = Calls.Where((_, i) => index(i)).ToList();
        return Result.From([.. chosen.Select(c => c.Milliseconds)], chosen.Count(c => !c.Ok), elapsed);
    }
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
