using System.Diagnostics;
using System.Globalization;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// Time from spawn to the agent's process starting, on a generated repository of many files, next to what git alone
/// needs for the same preparation (fetch into the cache, add a worktree from origin/main) on the same repository,
/// alternating one of each so that the machine's drift hits both alike.
/// </summary>
internal static class GitBench
{
    public static async Task RunAsync(string[] args)
    {
        var agents = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var files = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
        var dataRoot = Environment.GetEnvironmentVariable("BENCH_DATA_ROOT") ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        var root = Path.Combine(dataRoot, $"mosaic-gitbench-{Guid.NewGuid():N}");
        try
        {
            var remote = BenchRepository.Create(Path.Combine(root, "repo"), files);
            var rawCache = Path.Combine(root, "raw-cache.git");
            BenchRepository.Git(root, "init", "--quiet", "--bare", rawCache);
            BenchRepository.Git(rawCache, "config", "remote.origin.url", remote);
            BenchRepository.Git(rawCache, "config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*");
            BenchRepository.Git(rawCache, "fetch", "--quiet", "origin");

            var dataDir = Path.Combine(root, "data");
            await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>
            {
                ["DATA_DIR"] = dataDir,
                ["AGENT_RUNTIME"] = "command",
                // The first thing the agent does is note the time; then it changes a file so its run completes.
                ["AGENT_COMMAND"] = "date +%s%N > \"$(dirname \"$MOSAIC_PROMPT_FILE\")/started\"; date > change.txt",
                ["ALLOW_LOCAL_REPOSITORIES"] = "true",
            });
            using var client = new HttpClient { BaseAddress = service.Address };
            await RunAgentAsync(client, dataDir, remote, "warm-up"); // the first agent clones the cache; not measured

            var raw = new List<double>();
            var spawned = new List<double>();
            for (var i = 0; i < agents; i++)
            {
                raw.Add(RawPreparation(rawCache, Path.Combine(root, $"raw-wt-{i}")));
                spawned.Add(await RunAgentAsync(client, dataDir, remote, $"bench-{i}"));
            }

            raw.Sort();
            spawned.Sort();
            var rawMedian = raw[raw.Count / 2];
            var spawnMedian = spawned[spawned.Count / 2];
            Console.WriteLine($"# spawn-to-agent-start on a {files}-file repository ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {agents} agents, under {dataRoot})");
            Console.WriteLine("| measure | median (ms) | min (ms) | max (ms) |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine($"| raw git fetch + worktree add | {rawMedian:F1} | {raw[0]:F1} | {raw[^1]:F1} |");
            Console.WriteLine($"| spawn -> agent process started | {spawnMedian:F1} | {spawned[0]:F1} | {spawned[^1]:F1} |");
            Console.WriteLine();
            Console.WriteLine($"service / raw git = {spawnMedian / rawMedian:F2} (target <= 1.3)");
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static double RawPreparation(string cache, string worktree)
    {
        var clock = Stopwatch.StartNew();
        BenchRepository.Git(cache, "fetch", "--quiet", "--prune", "--no-tags", "origin");
        BenchRepository.Git(cache, "worktree", "add", "--quiet", "-B", $"raw/{Path.GetFileName(worktree)}", worktree, "refs/remotes/origin/main");
        var elapsed = clock.Elapsed.TotalMilliseconds;
        BenchRepository.Git(cache, "worktree", "remove", "--force", worktree);
        return elapsed;
    }

    private static async Task<double> RunAgentAsync(HttpClient client, string dataDir, string repository, string taskId)
    {
        var (agentId, sentNs) = await BenchAgent.RunAsync(client, repository, taskId);
        var startedNs = long.Parse(File.ReadAllText(Path.Combine(dataDir, "agents", agentId, "started")).Trim(), CultureInfo.InvariantCulture);
        return (startedNs - sentNs) / 1e6;
    }
}
