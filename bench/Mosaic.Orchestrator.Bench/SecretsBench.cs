using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mosaic.Orchestrator.Secrets;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// Secret-scanning throughput on a generated tree (<see cref="SecretsCorpus"/>): our scanner, single-threaded and
/// in-process, next to secretlint with its recommended preset on the same files in the same run. Reports MiB/s, the
/// ratio, and how many planted secrets each found (a finding on a planted secret's line counts).
/// </summary>
internal static class SecretsBench
{
    public static async Task RunAsync(string[] args)
    {
        // "secrets recall": only the recall and false-alarm measurement (seconds, not minutes).
        if (args is ["recall", ..])
        {
            SecretsRecall.Run(Console.Out, SecretRules.Default, Environment.GetEnvironmentVariable("BENCH_BASE_RULES") is { Length: > 0 } baseRules
                ? SecretRules.Parse(File.ReadAllText(baseRules), Path.GetFileName(baseRules), baseRules: null)
                : null);
            return;
        }

        // "secrets peers [gitleaks|secretlint]": recall and false alarms on peer scanners' own rule examples (corpora/).
        if (args is ["peers", .. var corpora])
        {
            SecretsPeers.Run(Console.Out, SecretRules.Default, corpora);
            return;
        }

        var megabytes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        var secrets = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
        var source = args.Length > 2 ? args[2] : null;
        var dataRoot = Environment.GetEnvironmentVariable("BENCH_DATA_ROOT") ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        var root = Path.Combine(dataRoot, $"mosaic-secretsbench-{Guid.NewGuid():N}");
        var corpusDir = Path.Combine(root, "corpus");
        try
        {
            var clock = Stopwatch.StartNew();
            var corpus = SecretsCorpus.Generate(corpusDir, megabytes, secrets, source);
            var mib = corpus.Bytes / 1048576.0;
            Console.WriteLine($"# secret scanning ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {(source is null ? "generated code" : $"files of {source}")}, under {dataRoot})");
            Console.WriteLine($"corpus: {corpusDir}: {corpus.Files} files, {mib:F1} MiB, {corpus.Planted.Count} planted secrets (generated in {clock.Elapsed.TotalSeconds:F1} s)");
            Console.WriteLine($"lines with a keyword of the generic rule (key, token, secret, auth...): {KeywordDensity(corpusDir):P1} (Python's standard library: 1.8%)");

            // Ours, in each configuration: a warm-up pass (JIT, page cache), then three rounds with the configurations
            // interleaved, so a busy machine slows them alike; the median counts. CPU time is given beside wall time: on a
            // shared machine it is what one idle core would take.
            var configs = Configurations();
            var results = configs.Select(_ => new List<(double Seconds, double Cpu, List<SecretFinding> Findings)>()).ToList();
            for (var round = 0; round < 4; round++)
            {
                for (var c = 0; c < configs.Count; c++)
                {
                    var findings = new List<SecretFinding>();
                    var scanner = new PathScanner(new SecretEngine(configs[c].Rules, configs[c].Policy), archives: configs[c].Archives);
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var started = Stopwatch.GetTimestamp();
                    scanner.Scan([corpusDir], corpusDir, findings);
                    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
                    if (round > 0)
                    {
                        results[c].Add((seconds, cpuSeconds, findings));
                    }
                }
            }

            var medians = results.Select(r =>
            {
                var byWall = r.OrderBy(x => x.Seconds).ToList();
                var cpuMedian = r.Select(x => x.Cpu).Order().ElementAt(r.Count / 2);
                return (byWall[r.Count / 2].Seconds, Cpu: cpuMedian, byWall[r.Count / 2].Findings);
            }).ToList();
            var ours = medians[^1];
            var ourLocations = ours.Findings.Select(f => (f.File, f.Line)).ToList();

            // BENCH_SKIP_SECRETLINT=1 measures only ours (for quick iterations; the published figures come from full runs).
            var secretlint = Environment.GetEnvironmentVariable("BENCH_SKIP_SECRETLINT") == "1"
                ? new SecretlintRun(double.NaN, double.NaN, "(skipped)", [])
                : await RunSecretlintAsync(root, corpusDir);
            var theirLocations = secretlint.Locations;

            Console.WriteLine();
            Console.WriteLine("| scanner | time (s) | MiB/s | CPU MiB/s | planted found | other findings |");
            Console.WriteLine("|---|---|---|---|---|---|");
            for (var c = 0; c < configs.Count; c++)
            {
                Row($"mosaic-orchestrator, {configs[c].Name} (1 thread, in-process, median of 3)", medians[c].Seconds, medians[c].Findings.Select(f => (f.File, f.Line)).ToList(), medians[c].Cpu);
            }

            Row($"secretlint {secretlint.Version} + preset-recommend (node, batches of {SecretlintBatchFiles} files, start-up included)", secretlint.Seconds, theirLocations, secretlint.Cpu);
            Console.WriteLine();
            // Both ratios: wall time is what a user waits, CPU time is what the tools cost when other work shares the cores
            // (a loaded machine slows the one in-process thread and the node processes unevenly).
            Console.WriteLine($"throughput ratio: {secretlint.Seconds / ours.Seconds:F1}x wall, {secretlint.Cpu / ours.Cpu:F1}x CPU (targets: >= 200 MiB/s, >= 20x secretlint)");
            Console.WriteLine();
            Console.WriteLine("| planted kind | mosaic-orchestrator | secretlint |");
            Console.WriteLine("|---|---|---|");
            foreach (var kind in corpus.Planted.GroupBy(p => p.Kind))
            {
                Console.WriteLine($"| {kind.Key} | {kind.Count(p => Found(p, ourLocations))}/{kind.Count()} | {kind.Count(p => Found(p, theirLocations))}/{kind.Count()} |");
            }

            void Row(string name, double seconds, List<(string File, int Line)> locations, double cpu = double.NaN)
            {
                var found = corpus.Planted.Count(p => Found(p, locations));
                var other = locations.Count(l => !corpus.Planted.Any(p => p.IsAt(l.File, l.Line)));
                Console.WriteLine($"| {name} | {seconds:F2} | {mib / seconds:F1} | {(double.IsNaN(cpu) ? "" : (mib / cpu).ToString("F1", CultureInfo.InvariantCulture))} | {found}/{corpus.Planted.Count} | {other} |");
            }

            SecretsRecall.Run(Console.Out, configs[^1].Rules, configs.Count > 2 ? configs[0].Rules : null);
            await SecretsArchiveBench.RunAsync(Console.Out, corpusDir, root);
        }
        finally
        {
            // BENCH_KEEP=1 leaves the corpus for a closer look (its path is in the first line of output).
            if (Environment.GetEnvironmentVariable("BENCH_KEEP") != "1")
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>
    /// What is measured: with BENCH_BASE_RULES=FILE (an older default-rules.json, e.g. from
    /// <c>git show HEAD:src/Mosaic.Orchestrator/Secrets/default-rules.json</c>) that rule set without decoding or
    /// archives first, as "before"; then today's rules without decoding and archives; then everything on (the default,
    /// last: its findings fill the tables).
    /// </summary>
    private static List<(string Name, SecretRules Rules, ScanPolicy Policy, bool Archives)> Configurations()
    {
        var configs = new List<(string, SecretRules, ScanPolicy, bool)>();
        if (Environment.GetEnvironmentVariable("BENCH_BASE_RULES") is { Length: > 0 } file)
        {
            configs.Add(($"before: {Path.GetFileName(file)}, no decoding, no archives", SecretRules.Parse(File.ReadAllText(file), Path.GetFileName(file), baseRules: null), new ScanPolicy { DecodeDepth = 0 }, false));
        }

        configs.Add(("today's rules, no decoding, no archives", SecretRules.Default, new ScanPolicy { DecodeDepth = 0 }, false));
        configs.Add(("today's rules, decoding and archives on", SecretRules.Default, new ScanPolicy(), true));
        return configs;
    }

    /// <summary>The share of lines that contain a keyword of generic-secret: what decides how often the prefilter stops.</summary>
    private static double KeywordDensity(string folder)
    {
        var keywords = SecretRules.Default.Rules.First(r => r.Id == "generic-secret").Keywords;
        long lines = 0, hits = 0;
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            foreach (var line in File.ReadLines(file))
            {
                lines++;
                if (keywords.Any(k => line.Contains(k, StringComparison.OrdinalIgnoreCase)))
                {
                    hits++;
                }
            }
        }

        return lines == 0 ? 0 : (double)hits / lines;
    }

    private static bool Found(PlantedSecret planted, List<(string File, int Line)> locations) =>
        locations.Any(l => planted.IsAt(l.File, l.Line));

    private const int SecretlintBatchFiles = 200;

    private sealed record SecretlintRun(double Seconds, double Cpu, string Version, List<(string File, int Line)> Locations);

    /// <summary>
    /// The CPU seconds of this process's finished children (Linux: cutime + cstime of /proc/self/stat, in clock ticks
    /// of 1/100 s); NaN elsewhere.
    /// </summary>
    private static double ChildrenCpuSeconds()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After "pid (comm) ", field 3 (state) is fields[0]: cutime and cstime are fields 16 and 17.
            return (long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>
    /// secretlint from npm (installed once into BENCH_SECRETLINT_DIR, default a folder beside the corpus), its
    /// recommended preset, on every file of the corpus; the wall time of the whole command, node start included.
    /// </summary>
    private static async Task<SecretlintRun> RunSecretlintAsync(string root, string corpusDir)
    {
        var home = Environment.GetEnvironmentVariable("BENCH_SECRETLINT_DIR") ?? Path.Combine(root, "secretlint");
        var cli = Path.Combine(home, "node_modules", "secretlint", "bin", "secretlint.js");
        if (!File.Exists(cli))
        {
            Directory.CreateDirectory(home);
            await RunAsync(home, "npm", ["init", "-y"]);
            await RunAsync(home, "npm", ["install", "--no-audit", "--no-fund", "secretlint", "@secretlint/secretlint-rule-preset-recommend"]);
        }

        var version = (await RunAsync(home, "node", [cli, "--version"])).Output.Trim();
        var config = Path.Combine(home, ".secretlintrc.json"); // beside node_modules, where the preset is resolved
        await File.WriteAllTextAsync(config, """{"rules":[{"id":"@secretlint/secretlint-rule-preset-recommend"}]}""");
        // Batches of files, one node process each: one run over the whole tree slows down more than linearly (a run over
        // all 95 MiB took 130 s, 0.7 MiB/s, where batches of 200 files run at several MiB/s), so batches are the
        // fairer figure. Node's start-up in every batch is counted.
        var files = Directory.EnumerateFiles(corpusDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(corpusDir, f)).Order(StringComparer.Ordinal).ToList();
        var locations = new List<(string, int)>();
        var seconds = 0.0;
        var cpuBefore = ChildrenCpuSeconds();
        var batch = 0;
        foreach (var chunk in files.Chunk(SecretlintBatchFiles))
        {
            var report = Path.Combine(root, $"secretlint-{batch++}.json");
            var started = Stopwatch.GetTimestamp();
            var result = await RunAsync(corpusDir, "node", [cli, "--no-glob", "--format", "json", "--output", report, "--secretlintrc", config, "--no-color", .. chunk]);
            seconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (result.ExitCode is not (0 or 1))
            {
                throw new InvalidOperationException($"secretlint failed ({result.ExitCode}): {result.Error}");
            }

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            foreach (var file in json.RootElement.EnumerateArray())
            {
                var name = Path.GetRelativePath(corpusDir, Path.GetFullPath(file.GetProperty("filePath").GetString()!, corpusDir)).Replace('\\', '/');
                foreach (var message in file.GetProperty("messages").EnumerateArray())
                {
                    locations.Add((name, message.GetProperty("loc").GetProperty("start").GetProperty("line").GetInt32()));
                }
            }
        }

        return new SecretlintRun(seconds, ChildrenCpuSeconds() - cpuBefore, version, locations);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string directory, string command, string[] arguments, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
