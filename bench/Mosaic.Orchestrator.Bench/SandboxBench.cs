using System.Diagnostics;
using System.Globalization;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// Spawn to the agent's process started, with the sandbox and without (two services side by side, one agent of each
/// in turn), next to a raw `docker run --rm IMAGE true` on the same engine: what the sandbox adds over the host
/// path, as a multiple of what Docker alone needs to run a container.
/// </summary>
internal static class SandboxBench
{
    public static async Task RunAsync(string[] args)
    {
        var agents = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var socket = Environment.GetEnvironmentVariable("DOCKER_SOCKET") is { Length: > 0 } s ? s : "/var/run/docker.sock";
        var image = Environment.GetEnvironmentVariable("SANDBOX_IMAGE") is { Length: > 0 } i ? i : "mosaic-agent:latest";
        var dataRoot = Environment.GetEnvironmentVariable("BENCH_DATA_ROOT") ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        var root = Path.Combine(dataRoot, $"mosaic-sandboxbench-{Guid.NewGuid():N}");
        try
        {
            var remote = BenchRepository.Create(Path.Combine(root, "repo"), files: 10);
            // The agent's first act is to print the time: the attempt log keeps it after the agent's folders are gone.
            var settings = new Dictionary<string, string>
            {
                ["AGENT_RUNTIME"] = "command",
                ["AGENT_COMMAND"] = "date +%s%N; date > change.txt",
                ["ALLOW_LOCAL_REPOSITORIES"] = "true",
                ["DOCKER_SOCKET"] = socket,
                ["SANDBOX_IMAGE"] = image,
            };
            await using var host = await ServiceProcess.StartAsync(new Dictionary<string, string>(settings) { ["DATA_DIR"] = Path.Combine(root, "host") });
            await using var sandboxed = await ServiceProcess.StartAsync(new Dictionary<string, string>(settings)
            {
                ["DATA_DIR"] = Path.Combine(root, "sandboxed"),
                ["SANDBOX_ENABLED"] = "true",
            });
            using var hostClient = new HttpClient { BaseAddress = host.Address };
            using var sandboxClient = new HttpClient { BaseAddress = sandboxed.Address };
            // The first agent of each clones the cache; not measured.
            await RunAgentAsync(hostClient, Path.Combine(root, "host"), remote, "warm-up");
            await RunAgentAsync(sandboxClient, Path.Combine(root, "sandboxed"), remote, "warm-up");
            RawDockerRun(socket, image);

            var raw = new List<double>();
            var plain = new List<double>();
            var boxed = new List<double>();
            for (var n = 0; n < agents; n++)
            {
                raw.Add(RawDockerRun(socket, image));
                plain.Add(await RunAgentAsync(hostClient, Path.Combine(root, "host"), remote, $"plain-{n}"));
                boxed.Add(await RunAgentAsync(sandboxClient, Path.Combine(root, "sandboxed"), remote, $"boxed-{n}"));
            }

            var (rawMedian, plainMedian, boxedMedian) = (Median(raw), Median(plain), Median(boxed));
            Console.WriteLine($"# spawn-to-agent-start, sandboxed and not ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {agents} agents each, 10-file repository, under {dataRoot})");
            Console.WriteLine("| measure | median (ms) | min (ms) | max (ms) |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine($"| raw `docker run --rm {image} true` | {rawMedian:F1} | {raw.Min():F1} | {raw.Max():F1} |");
            Console.WriteLine($"| spawn -> agent started, host | {plainMedian:F1} | {plain.Min():F1} | {plain.Max():F1} |");
            Console.WriteLine($"| spawn -> agent started, sandbox | {boxedMedian:F1} | {boxed.Min():F1} | {boxed.Max():F1} |");
            Console.WriteLine();
            Console.WriteLine($"sandbox adds {boxedMedian - plainMedian:F1} ms = {(boxedMedian - plainMedian) / rawMedian:F2}x a raw docker run (target <= 1.5)");
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static double RawDockerRun(string socket, string image)
    {
        var start = new ProcessStartInfo("docker", ["-H", $"unix://{socket}", "run", "--rm", "--network", "none", image, "true"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var clock = Stopwatch.StartNew();
        using var docker = Process.Start(start)!;
        docker.WaitForExit();
        var elapsed = clock.Elapsed.TotalMilliseconds;
        return docker.ExitCode == 0 ? elapsed : throw new InvalidOperationException($"docker run failed: {docker.StandardError.ReadToEnd()}");
    }

    private static async Task<double> RunAgentAsync(HttpClient client, string dataDir, string repository, string taskId)
    {
        var (agentId, sentNs) = await BenchAgent.RunAsync(client, repository, taskId);
        var log = File.ReadLines(Path.Combine(dataDir, "agents", agentId, "attempt-1.log")).First();
        return (long.Parse(log.Trim(), CultureInfo.InvariantCulture) - sentNs) / 1e6;
    }
}
