using System.Text;
using Mosaic.Orchestrator.Secrets;
using Xunit.Abstractions;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>Alone: the memory test reads the process's managed heap, which other tests running at once would fill.</summary>
[CollectionDefinition(nameof(ScanMemoryCollection), DisableParallelization = true)]
public sealed class ScanMemoryCollection;

[Collection(nameof(ScanMemoryCollection))]
public sealed class GitSecretScannerStreamingTests(ITestOutputHelper output)
{
    private static GitSecretScanner Scanner(int chunkChars = DiffReader.DefaultChunkChars) =>
        new(SecretRules.Default, honorInlineAllow: false, GitSecretScanner.DefaultTimeout, chunkChars: chunkChars);

    [Fact]
    public async Task A_64_MiB_added_file_is_scanned_as_git_prints_it_with_managed_memory_far_below_its_size()
    {
        const long size = 64L * 1024 * 1024;
        var repo = TestRepository.Create("large");
        var baseCommit = repo.Commit("base");
        var key = AwsAccessKeyId("large-file");
        int plantedLine;
        await using (var writer = new StreamWriter(Path.Combine(repo.Path, "data.txt"), false, new UTF8Encoding(false), 1 << 16))
        {
            long written = 0;
            var line = 0;
            plantedLine = -1;
            while (written < size)
            {
                line++;
                var text = plantedLine < 0 && written > size - (512 * 1024)
                    ? $"deploy_key = \"{key}\""
                    : $"row {line}: alpha beta gamma delta {line * 7919 % 100003} epsilon zeta eta theta";
                if (text.StartsWith("deploy", StringComparison.Ordinal))
                {
                    plantedLine = line;
                }

                await writer.WriteLineAsync(text);
                written += text.Length + 1;
            }
        }

        var head = repo.Commit("large");
        var scanner = Scanner();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        using var done = new CancellationTokenSource();
        // What the scan holds, measured while it runs: a full collection every few milliseconds leaves only live memory.
        var sampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - before);
                await Task.Delay(10, CancellationToken.None);
            }
        });
        var findings = await scanner.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);
        await done.CancelAsync();
        await sampler;

        output.WriteLine($"peak managed memory above the baseline during the scan: {peak / 1024.0 / 1024.0:F1} MiB for a {size / 1024 / 1024} MiB file");
        var finding = Assert.Single(findings);
        Assert.Equal(("aws-access-key-id", "data.txt", plantedLine, head), (finding.RuleId, finding.File, finding.Line, finding.Commit));
        Assert.True(peak < size / 4, $"the scan held {peak} bytes at its peak");
    }

    [Fact]
    public async Task Chunked_scans_find_what_a_whole_file_scan_finds_single_and_multi_line_at_every_boundary()
    {
        var repo = TestRepository.Create("chunks");
        var baseCommit = repo.Commit("base");
        var content = new StringBuilder();
        for (var block = 0; block < 6; block++)
        {
            // Filler of varying length so secrets land at many offsets from the chunk boundaries.
            for (var i = 0; i < 400 + (block * 137); i++)
            {
                content.Append("filler line ").Append(block).Append(' ').Append(i).Append(" lorem ipsum dolor sit amet\n");
            }

            content.Append($"token = \"{GitHubClassic($"chunk-{block}")}\"\n");
            content.Append(Pem(label: $"chunk-pem-{block}"));
        }

        repo.Write("secrets.txt", content.ToString());
        var head = repo.Commit("many");

        var whole = await Scanner(int.MaxValue / 2).ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);
        Assert.Equal(12, whole.Count);
        foreach (var chunkChars in new[] { 100, 5_000, 40_000 })
        {
            var chunked = await Scanner(chunkChars).ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);
            Assert.Equal(whole.Select(f => (f.RuleId, f.Line, f.Fingerprint)), chunked.Select(f => (f.RuleId, f.Line, f.Fingerprint)));
        }
    }

    [Fact]
    public async Task A_line_over_the_bound_is_reported_as_too_long_and_its_start_is_still_scanned()
    {
        var repo = TestRepository.Create("long-line");
        var baseCommit = repo.Commit("base");
        var padding = new string('x', GitSecretScanner.MaxLineChars);
        repo.Write("bundle.min.js", $"short line\nvar k = \"{Npm("long-start")}\";{padding}\nvar hidden = 1;{padding}\"{Npm("long-end")}\"\nlast line\n");
        var head = repo.Commit("long lines");

        var findings = await Scanner().ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);

        Assert.Equal(
            [("npm-access-token", 2), (GitSecretScanner.LineTooLongRuleId, 2), (GitSecretScanner.LineTooLongRuleId, 3)],
            findings.Select(f => (f.RuleId, f.Line)).Order());
        Assert.All(findings, f => Assert.Equal(head, f.Commit));
    }
}
