using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Mosaic.Orchestrator.Secrets;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// What archives cost: the corpus packed as a .tar.gz and a .zip, each scanned with archives on, next to the same
/// files scanned as they are (in the same run). MiB/s are of the expanded bytes.
/// </summary>
internal static class SecretsArchiveBench
{
    public static async Task RunAsync(TextWriter output, string corpusDir, string root)
    {
        var packed = Path.Combine(root, "packed");
        Directory.CreateDirectory(packed);
        var tar = Path.Combine(packed, "corpus.tar.gz");
        await using (var file = File.Create(tar))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            await TarFile.CreateFromDirectoryAsync(corpusDir, gzip, includeBaseDirectory: false);
        }

        var zip = Path.Combine(packed, "corpus.zip");
        ZipFile.CreateFromDirectory(corpusDir, zip, CompressionLevel.Fastest, includeBaseDirectory: false);
        var expanded = Directory.EnumerateFiles(corpusDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / 1048576.0;

        output.WriteLine();
        output.WriteLine("| archives: the corpus scanned as | packed MiB | time (s) | MiB/s (expanded) | CPU MiB/s (expanded) | findings |");
        output.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, path) in new[] { ("plain files", corpusDir), ("one .tar.gz", tar), ("one .zip", zip) })
        {
            var times = new List<(double Seconds, double Cpu, int Findings)>();
            for (var run = 0; run < 4; run++)
            {
                var findings = new List<SecretFinding>();
                // The packed archives exceed the 10 MiB file limit of a path scan; the bench lifts it to see the cost.
                var scanner = new PathScanner(new SecretEngine(SecretRules.Default, new ScanPolicy()), maxFileBytes: long.MaxValue);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var started = Stopwatch.GetTimestamp();
                scanner.Scan([path], Path.GetDirectoryName(path)!, findings);
                if (run > 0)
                {
                    times.Add((Stopwatch.GetElapsedTime(started).TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds, findings.Count));
                }
            }

            var median = times.OrderBy(t => t.Seconds).ElementAt(times.Count / 2);
            // CPU time counts the collector's threads too (several MiB of archive in memory), so it can exceed the wall time.
            var cpuMedian = times.Select(t => t.Cpu).Order().ElementAt(times.Count / 2);
            var size = File.Exists(path) ? new FileInfo(path).Length / 1048576.0 : expanded;
            output.WriteLine($"| {name} | {size:F1} | {median.Seconds:F2} | {expanded / median.Seconds:F1} | {expanded / cpuMedian:F1} | {median.Findings} |");
        }
    }
}
