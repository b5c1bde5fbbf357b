using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Tests.Support;
using SharpCompress.Providers.Default;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>Archives and compressed files on a path scan: inside, nested, bounded (bombs), symbolic links listed.</summary>
public sealed class ArchiveScannerTests
{
    private static (List<SecretFinding> Findings, List<string> Skipped) ScanFolder(string folder)
    {
        var findings = new List<SecretFinding>();
        var scanner = new PathScanner(new SecretEngine(SecretRules.Default, new ScanPolicy()));
        scanner.Scan([folder], folder, findings);
        return (findings, scanner.Skipped);
    }

    private static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Tar(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Gzip(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return buffer.ToArray();
    }

    private static byte[] Zstd(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var zstd = new ZStandardCompressionProvider().CreateCompressStream(buffer, 3))
        {
            zstd.Write(content);
        }

        return buffer.ToArray();
    }

    /// <summary>Compresses with a real command-line tool (xz, bzip2), as the files people commit were made.</summary>
    private static byte[] Tool(string tool, byte[] content)
    {
        var start = new ProcessStartInfo(tool, ["-c"]) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        process.StandardInput.BaseStream.Write(content);
        process.StandardInput.Close();
        copy.Wait();
        process.WaitForExit();
        return output.ToArray();
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Secrets_inside_each_kind_of_archive_are_found_with_the_path_inside()
    {
        var folder = TempDirectory.Create("archives");
        File.WriteAllBytes(Path.Combine(folder, "bundle.zip"), Zip(("config/.env", Utf8("GITHUB_TOKEN=" + GitHubClassic("zip") + "\n")), ("README.md", Utf8("nothing here"))));
        File.WriteAllBytes(Path.Combine(folder, "release.tar.gz"), Gzip(Tar(("app/settings.json", Utf8("{\"stripe\": \"" + StripeLive("tgz") + "\"}")))));
        File.WriteAllBytes(Path.Combine(folder, "dump.sql.xz"), Tool("xz", Utf8("-- dump\nINSERT INTO keys VALUES ('" + AwsAccessKeyId("xz") + "');\n")));
        File.WriteAllBytes(Path.Combine(folder, "notes.txt.bz2"), Tool("bzip2", Utf8("slack: " + SlackBot("bz2") + "\n")));
        File.WriteAllBytes(Path.Combine(folder, "logs.zst"), Zstd(Utf8("line\nexport OPENAI_API_KEY=" + OpenAiLegacy("zst") + "\n")));
        File.WriteAllBytes(Path.Combine(folder, "keys.tar"), Tar(("home/.ssh/id_ed25519", Utf8("PuTTY-User-Key-File-3: ssh-ed25519\n" + Random("tar-key", 80, FakeSecrets.Base64)))));

        var (findings, _) = ScanFolder(folder);
        var found = findings.Select(f => $"{f.File} {f.RuleId}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
        [
            "bundle.zip!config/.env github-pat",
            "dump.sql.xz!dump.sql aws-access-key-id",
            "keys.tar!home/.ssh/id_ed25519 ssh-private-key-file",
            "logs.zst!logs openai-api-key",
            "notes.txt.bz2!notes.txt slack-token",
            "release.tar.gz!release.tar!app/settings.json stripe-key",
        ], found);
    }

    [Fact]
    public void Nested_archives_are_opened_to_the_depth_bound_and_deeper_is_a_finding()
    {
        var folder = TempDirectory.Create("archives-nested");
        var inner = Zip(("deep/.npmrc", Utf8("//registry.npmjs.org/:_authToken=" + Npm("nested") + "\n")));
        File.WriteAllBytes(Path.Combine(folder, "outer.tgz"), Gzip(Tar(("lib/inner.zip", inner))));
        var (findings, _) = ScanFolder(folder);
        Assert.Equal("outer.tgz!outer.tar!lib/inner.zip!deep/.npmrc", Assert.Single(findings).File);

        var tooDeep = Utf8("password = \"" + Password("deep") + "\"");
        for (var level = 0; level < ArchiveScanner.MaxDepth + 1; level++)
        {
            tooDeep = Zip(($"level{level}.zip", tooDeep));
        }

        File.Delete(Path.Combine(folder, "outer.tgz"));
        File.WriteAllBytes(Path.Combine(folder, "russian-doll.zip"), tooDeep);
        var bomb = Assert.Single(ScanFolder(folder).Findings);
        Assert.Equal(ArchiveScanner.BombRuleId, bomb.RuleId);
        Assert.Contains("nested more than", bomb.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void A_compression_bomb_is_a_finding_of_its_own_and_no_hang()
    {
        var folder = TempDirectory.Create("archives-bomb");
        // zstd squeezes 64 MiB of zeros into a few hundred bytes: past the ratio bound after the first MiB.
        File.WriteAllBytes(Path.Combine(folder, "ratio.zst"), Zstd(new byte[64 * 1024 * 1024]));
        // 20 entries of 16 MiB of zeros (deflate stays under the ratio bound): past the size bound.
        var zeros = new byte[16 * 1024 * 1024];
        File.WriteAllBytes(Path.Combine(folder, "size.zip"), Zip([.. Enumerable.Range(0, 20).Select(i => ($"part{i}.bin", zeros))]));
        var clock = Stopwatch.StartNew();
        var (findings, _) = ScanFolder(folder);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Equal(2, findings.Count(f => f.RuleId == ArchiveScanner.BombRuleId));
        Assert.Contains(findings, f => f.File == "ratio.zst" && f.Description.Contains("1000:1", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.File == "size.zip" && f.Description.Contains("256 MiB", StringComparison.Ordinal));
    }

    [Fact]
    public void Symbolic_links_are_listed_with_their_targets_and_never_followed()
    {
        var folder = TempDirectory.Create("archives-links");
        var outside = TempDirectory.Create("archives-outside");
        File.WriteAllText(Path.Combine(outside, "secret.env"), "GITHUB_TOKEN=" + GitHubClassic("outside"));
        File.WriteAllText(Path.Combine(folder, "real.txt"), "nothing");
        File.CreateSymbolicLink(Path.Combine(folder, "leak.env"), Path.Combine(outside, "secret.env"));
        File.CreateSymbolicLink(Path.Combine(folder, "alias.txt"), "real.txt");
        using (var buffer = new MemoryStream())
        {
            using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "etc/shadow-link") { LinkName = "/etc/shadow" });
            }

            File.WriteAllBytes(Path.Combine(folder, "links.tar"), buffer.ToArray());
        }

        var (findings, skipped) = ScanFolder(folder);
        Assert.Empty(findings);
        Assert.Contains(skipped, s => s.StartsWith("leak.env: symbolic link to ", StringComparison.Ordinal) && s.EndsWith("outside the scanned tree: not followed", StringComparison.Ordinal));
        Assert.Contains("alias.txt: symbolic link to real.txt, not followed (the target is inside the scanned tree and scanned there)", skipped);
        Assert.Contains("links.tar!etc/shadow-link: symbolic link to /etc/shadow inside the archive, not followed", skipped);
    }

    [Fact]
    public async Task Archives_that_commits_add_are_opened_in_diff_scans()
    {
        var repository = TestRepository.Create("archives-diff");
        var baseCommit = repository.Write("README.md", "hello\n").Commit("base");
        repository.WriteBytes("dist/bundle.zip", Zip(("config/.env", Utf8("GITHUB_TOKEN=" + GitHubClassic("diff-zip") + "\n"))));
        repository.WriteBytes("backup.tgz", Gzip(Tar(("db/settings.json", Utf8("{\"stripe\": \"" + StripeLive("diff-tgz") + "\"}")))));
        var head = repository.Commit("add archives");
        var scanner = new ServiceCollection().AddSecretScanning().BuildServiceProvider().GetRequiredService<ISecretScanner>();
        var findings = await scanner.ScanCommitsAsync(repository.Path, baseCommit, head, CancellationToken.None);
        Assert.Equal(["backup.tgz!backup.tar!db/settings.json stripe-key", "dist/bundle.zip!config/.env github-pat"],
            findings.Select(f => $"{f.File} {f.RuleId}").Order(StringComparer.Ordinal));
        Assert.All(findings, f => Assert.Equal(head, f.Commit));
    }

    [Fact]
    public void A_corrupt_archive_is_listed_and_what_was_readable_still_counts()
    {
        var folder = TempDirectory.Create("archives-corrupt");
        var zip = Zip(("a.env", Utf8("GITHUB_TOKEN=" + GitHubClassic("corrupt"))));
        File.WriteAllBytes(Path.Combine(folder, "cut.zip"), zip[..(zip.Length / 2)]);
        var (findings, skipped) = ScanFolder(folder);
        Assert.DoesNotContain(findings, f => f.RuleId == ArchiveScanner.BombRuleId);
        Assert.Contains(skipped, s => s.StartsWith("cut.zip: cannot read inside the archive", StringComparison.Ordinal));
    }
}
