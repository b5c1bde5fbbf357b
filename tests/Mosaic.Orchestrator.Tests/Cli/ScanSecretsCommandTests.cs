using System.Diagnostics;
using System.Text.Json;
using Mosaic.Orchestrator.Cli;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Tests.Secrets;
using Mosaic.Orchestrator.Tests.Support;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Cli;

/// <summary><c>mosaic-orchestrator scan</c> on real files and real git repositories.</summary>
public sealed class ScanSecretsCommandTests
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(string workingDirectory, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await ScanCommand.RunAsync(args, output, error, workingDirectory, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>One secret of every kind the generators make, each on its own line of a .env-style file.</summary>
    private static readonly string[] Secrets =
    [
        AwsAccessKeyId(), GitHubClassic(), GitHubFineGrained(), GitHubOAuth(), GitHubApp(), GitHubRefresh(), GitLabPat(),
        GitLabRunner(), SlackBot(), StripeLive(), StripeWebhook(), GoogleApiKey(), OpenAiProject(), OpenAiLegacy(), Anthropic(),
        TwilioApiKey(), SendGrid(), Npm(), PyPi(), NuGet(), Jwt(),
    ];

    private static string SecretsFile() => string.Concat(Secrets.Select((s, i) => $"VALUE_{i}={s}\n"));

    [Fact]
    public async Task A_clean_folder_exits_0_and_a_folder_with_secrets_exits_1_naming_each_without_the_secret()
    {
        var folder = TempDirectory.Create("cli-clean");
        File.WriteAllText(Path.Combine(folder, "app.py"), "print('hello')\n");
        var clean = await RunAsync(folder);
        Assert.Equal((0, "", ""), (clean.Exit, clean.Output, clean.Error)); // silent: a pre-commit hook runs on every commit
        var verbose = await RunAsync(folder, "--verbose");
        Assert.Equal((0, "", "no secrets found\n"), (verbose.Exit, verbose.Output, verbose.Error.Replace("\r", "", StringComparison.Ordinal)));

        Directory.CreateDirectory(Path.Combine(folder, "config"));
        File.WriteAllText(Path.Combine(folder, "config", "values.txt"), "intro\n" + SecretsFile());
        var dirty = await RunAsync(folder, "--format", "text");
        Assert.Equal(1, dirty.Exit);
        Assert.Contains($"{Secrets.Length} secrets found", dirty.Error, StringComparison.Ordinal);
        Assert.Contains("config/values.txt:2:9: aws-access-key-id: AWS access key id: AKIA*** fingerprint ", dirty.Output, StringComparison.Ordinal);
        AssertNoSecret(dirty.Output + dirty.Error);
    }

    [Fact]
    public async Task Json_and_sarif_reports_hold_every_finding_and_no_secret()
    {
        var folder = TempDirectory.Create("cli-formats");
        File.WriteAllText(Path.Combine(folder, "all secrets.txt"), SecretsFile());
        File.WriteAllText(Path.Combine(folder, "key.pem"), Pem());

        var json = await RunAsync(folder, "--format=json", ".");
        Assert.Equal(1, json.Exit);
        AssertNoSecret(json.Output + json.Error);
        using (var document = JsonDocument.Parse(json.Output))
        {
            var root = document.RootElement;
            Assert.Equal(Secrets.Length + 1, root.GetProperty("count").GetInt32());
            var first = root.GetProperty("findings")[0];
            Assert.Equal("all secrets.txt", first.GetProperty("file").GetString());
            Assert.Equal(1, first.GetProperty("line").GetInt32());
            Assert.Matches("^[0-9a-f]{32}$", first.GetProperty("fingerprint").GetString());
            Assert.False(first.TryGetProperty("commit", out _));
        }

        var sarif = await RunAsync(folder, "--format", "sarif");
        Assert.Equal(1, sarif.Exit);
        AssertNoSecret(sarif.Output);
        using var log = JsonDocument.Parse(sarif.Output);
        Assert.Equal("2.1.0", log.RootElement.GetProperty("version").GetString());
        Assert.Equal(SecretReports.SarifSchema, log.RootElement.GetProperty("$schema").GetString());
        var run = log.RootElement.GetProperty("runs")[0];
        var driver = run.GetProperty("tool").GetProperty("driver");
        Assert.Equal("mosaic-orchestrator", driver.GetProperty("name").GetString());
        var rules = driver.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(SecretRules.Default.Rules.Count, rules.Count);
        var results = run.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(Secrets.Length + 1, results.Count);
        foreach (var result in results)
        {
            Assert.Equal(rules[result.GetProperty("ruleIndex").GetInt32()], result.GetProperty("ruleId").GetString());
            Assert.Equal("error", result.GetProperty("level").GetString());
            Assert.EndsWith("***", result.GetProperty("message").GetProperty("text").GetString(), StringComparison.Ordinal);
            var location = result.GetProperty("locations")[0].GetProperty("physicalLocation");
            Assert.True(location.GetProperty("region").GetProperty("startLine").GetInt32() >= 1);
            Assert.Matches("^[0-9a-f]{32}$", result.GetProperty("partialFingerprints").GetProperty("mosaicSecretFingerprint/v1").GetString());
            Assert.Contains(location.GetProperty("artifactLocation").GetProperty("uri").GetString(), new[] { "all%20secrets.txt", "key.pem" });
        }
    }

    [Fact]
    public async Task A_git_range_reports_the_commits_and_reads_the_allowlist_from_its_base()
    {
        var repo = TestRepository.Create("cli-range");
        var fixture = GitHubClassic("cli-fixture");
        repo.Write(".mosaic/secrets-allowlist", SecretFingerprint.Compute("github-pat", "fixture.txt", fixture) + "\n");
        var baseCommit = repo.Commit("base");
        repo.Write("fixture.txt", $"t={fixture}\n").Write("leak.txt", $"stripe={StripeLive()}\n");
        var head = repo.Commit("work");

        var range = await RunAsync(repo.Path, "--git", $"{baseCommit}..{head}", "--format", "json");
        Assert.Equal(1, range.Exit);
        using var document = JsonDocument.Parse(range.Output);
        var finding = Assert.Single(document.RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal(("leak.txt", head), (finding.GetProperty("file").GetString(), finding.GetProperty("commit").GetString()));
        Assert.Equal(1, (await RunAsync(repo.Path, "--git", baseCommit)).Exit); // A alone is A..HEAD
        Assert.Equal(1, (await RunAsync(repo.Path, $"--git={baseCommit}..")).Exit);
        var text = await RunAsync(repo.Path, "--git", $"{head}..{head}");
        Assert.Equal((0, "", ""), (text.Exit, text.Output, text.Error));
        var sarif = await RunAsync(repo.Path, "--git", $"{baseCommit}..{head}", "--format", "sarif");
        Assert.Contains(head, sarif.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Staged_scans_what_would_be_committed_and_honours_inline_allow_comments()
    {
        var repo = TestRepository.Create("cli-staged");
        repo.Commit("base");
        repo.Write("ok.py", $"TOKEN = \"{GitHubClassic("ok")}\"  # mosaic:allow: documented test value\n").Git("add", "ok.py");
        Assert.Equal(0, (await RunAsync(repo.Path, "--staged")).Exit);
        repo.Write("bad.py", $"TOKEN = \"{GitHubClassic("bad")}\"\n").Git("add", "bad.py");
        var staged = await RunAsync(repo.Path, "--staged");
        Assert.Equal(1, staged.Exit);
        Assert.StartsWith("bad.py:1:10: github-pat:", staged.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Staged_reads_the_allowlist_from_the_index_so_a_staged_entry_counts_for_this_commit()
    {
        var repo = TestRepository.Create("cli-staged-allowlist");
        repo.Write("README.md", "# app\n");
        repo.Commit("base");
        var fixture = GitHubClassic("staged-fixture");
        repo.Write("fixture.py", $"TOKEN = \"{fixture}\"\n").Git("add", "fixture.py");
        Assert.Equal(1, (await RunAsync(repo.Path, "--staged")).Exit);

        // Allowlisted in the working tree only: not what would be committed, so it does not count.
        repo.Write(".mosaic/secrets-allowlist", SecretFingerprint.Compute("github-pat", "fixture.py", fixture) + "\n");
        Assert.Equal(1, (await RunAsync(repo.Path, "--staged")).Exit);

        // Staged with the change (not yet committed): what the person is about to commit, so it counts.
        repo.Git("add", ".mosaic/secrets-allowlist");
        var allowed = await RunAsync(repo.Path, "--staged", "--verbose");
        Assert.True(allowed.Exit == 0, allowed.Output + allowed.Error);
        Assert.Contains("fixture.py:1:10: github-pat: allowed (its fingerprint is in .mosaic/secrets-allowlist)", allowed.Error, StringComparison.Ordinal);

        // Committed, then its removal staged: the allowlist about to be committed has no entry, so a new line with the
        // same value in the same file is reported again; staged back, it is allowed again.
        repo.Git("commit", "-qm", "fixture and its allowlist entry");
        repo.Git("rm", "-q", "--cached", ".mosaic/secrets-allowlist");
        repo.Write("fixture.py", $"TOKEN = \"{fixture}\"\nAGAIN = \"{fixture}\"\n").Git("add", "fixture.py");
        Assert.Equal(1, (await RunAsync(repo.Path, "--staged")).Exit);
        repo.Git("add", ".mosaic/secrets-allowlist");
        Assert.Equal(0, (await RunAsync(repo.Path, "--staged")).Exit);
        var baseCommit = repo.Commit("second use of the fixture");

        // A commit that adds a secret together with its own entry passes the person's hook, but a range scan (CI, the
        // pipeline) still reports it: there the allowlist comes from the base, which the range cannot have changed.
        var late = GitHubClassic("late");
        repo.Write("late.py", $"TOKEN = \"{late}\"\n");
        File.AppendAllText(Path.Combine(repo.Path, ".mosaic", "secrets-allowlist"), SecretFingerprint.Compute("github-pat", "late.py", late) + "\n");
        repo.Git("add", "--all");
        Assert.Equal(0, (await RunAsync(repo.Path, "--staged")).Exit);
        var head = repo.Commit("late fixture with its entry");
        Assert.Equal(1, (await RunAsync(repo.Path, "--git", $"{baseCommit}..{head}")).Exit);
    }

    [Fact]
    public async Task Findings_end_with_a_hint_on_how_to_allow_them_and_a_hook_hint_for_staged_scans()
    {
        var repo = TestRepository.Create("cli-hint");
        repo.Commit("base");
        repo.Write("bad.py", $"TOKEN = \"{GitHubClassic("hint")}\"\n").Git("add", "bad.py");

        var staged = await RunAsync(repo.Path, "--staged");
        Assert.Equal(1, staged.Exit);
        var lines = staged.Error.Replace("\r", "", StringComparison.Ordinal).TrimEnd('\n').Split('\n');
        Assert.Equal("1 secret found", lines[0]);
        Assert.Contains("\"mosaic:allow\" in a comment on its line", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("or its fingerprint to .mosaic/secrets-allowlist and stage it", lines[1], StringComparison.Ordinal);
        Assert.Equal("to commit anyway, this once: git commit --no-verify", lines[2]);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("bad.py:1:10: github-pat:", staged.Output, StringComparison.Ordinal); // stdout: findings only

        var path = await RunAsync(repo.Path, "bad.py");
        Assert.Equal(1, path.Exit);
        Assert.Contains("mosaic:allow", path.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("--no-verify", path.Error, StringComparison.Ordinal);
        var range = ScanCommand.Hint(staged: false, range: "main..HEAD");
        Assert.Contains("read from the base of the range", range, StringComparison.Ordinal);

        var json = await RunAsync(repo.Path, "--staged", "--format", "json");
        Assert.Equal((1, ""), (json.Exit, json.Error)); // machine formats: the report alone
    }

    [Fact]
    public async Task Verbose_lists_allowed_values_with_the_reason_and_the_default_output_stays_findings_only()
    {
        var repo = TestRepository.Create("cli-verbose");
        var fixture = Npm("verbose-fixture");
        repo.Write(".mosaic/secrets-allowlist", SecretFingerprint.Compute("npm-access-token", "test/fixture.txt", fixture) + "\n");
        repo.Commit("allowlist");
        repo.Write("README.md", "# Setup\n\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")
            .Write("src/app.py", $"TOKEN = \"{GitHubClassic("inline")}\"  # mosaic:allow: the docs' test token\n")
            .Write("test/fixture.txt", $"n={fixture}\n")
            .Write("src/real.py", $"TOKEN = \"{GitHubClassic("real")}\"\n");

        var quiet = await RunAsync(repo.Path);
        Assert.Equal(1, quiet.Exit);
        Assert.DoesNotContain("allowed (", quiet.Output + quiet.Error, StringComparison.Ordinal);
        Assert.StartsWith("src/real.py:1:10: github-pat:", quiet.Output, StringComparison.Ordinal);
        Assert.Single(quiet.Output.TrimEnd('\n').Split('\n'));

        var verbose = await RunAsync(repo.Path, "--verbose");
        Assert.Equal((1, quiet.Output), (verbose.Exit, verbose.Output)); // stdout unchanged: allowed values go to stderr
        Assert.Contains("README.md:3:21: aws-access-key-id: allowed (placeholder or documented example value: the value contains \"example\")", verbose.Error, StringComparison.Ordinal);
        Assert.Contains("src/app.py:1:10: github-pat: allowed (mosaic:allow on the line)", verbose.Error, StringComparison.Ordinal);
        Assert.Contains("test/fixture.txt:1:3: npm-access-token: allowed (its fingerprint is in .mosaic/secrets-allowlist)", verbose.Error, StringComparison.Ordinal);
        Assert.Contains("1 secret found", verbose.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("IOSFODNN", verbose.Output + verbose.Error, StringComparison.Ordinal); // never the value itself

        File.Delete(Path.Combine(repo.Path, "src", "real.py"));
        var clean = await RunAsync(repo.Path, "-v", "--format", "json");
        Assert.Equal(0, clean.Exit);
        using var document = JsonDocument.Parse(clean.Output); // stdout is still the JSON report alone
        Assert.Equal(0, document.RootElement.GetProperty("count").GetInt32());
        Assert.Contains("aws-access-key-id: allowed", clean.Error, StringComparison.Ordinal);
        var cleanText = await RunAsync(repo.Path, "--verbose");
        Assert.EndsWith("no secrets found (3 values allowed)\n", cleanText.Error.Replace("\r", "", StringComparison.Ordinal), StringComparison.Ordinal);

        // A range names the commit that added the allowed line.
        repo.Git("add", "--all");
        var head = repo.Commit("docs");
        var range = await RunAsync(repo.Path, "--git", "HEAD~1", "--verbose");
        Assert.Equal(0, range.Exit);
        Assert.Contains($"README.md:3:21: aws-access-key-id: allowed (placeholder or documented example value: the value contains \"example\") (commit {head[..12]})", range.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Path_scans_skip_git_folders_and_links_and_use_the_committed_or_local_allowlist()
    {
        var repo = TestRepository.Create("cli-paths");
        var fixture = Npm("cli-allowed");
        repo.Write(".mosaic/secrets-allowlist", $"path generated/**\n{SecretFingerprint.Compute("npm-access-token", "src/a.txt", fixture)}\nbogus line\n");
        repo.Commit("allowlist");
        repo.Write("src/a.txt", $"n={fixture}\n").Write("generated/b.txt", $"g={GitHubClassic()}\n");
        File.WriteAllText(Path.Combine(repo.Path, ".git", "leak.txt"), $"t={GitHubClassic("in-git")}\n");
        File.CreateSymbolicLink(Path.Combine(repo.Path, "src", "link.txt"), Path.Combine(repo.Path, "generated", "b.txt"));
        var inRepo = await RunAsync(repo.Path);
        Assert.Equal((0, ""), (inRepo.Exit, inRepo.Output));
        Assert.Contains("warning: .mosaic/secrets-allowlist:3:", inRepo.Error, StringComparison.Ordinal);
        Assert.Contains("skipped src/link.txt: symbolic link", inRepo.Error, StringComparison.Ordinal);

        var plain = TempDirectory.Create("cli-plain");
        File.WriteAllText(Path.Combine(plain, "c.txt"), $"n={fixture}\n");
        Assert.Equal(1, (await RunAsync(plain, "c.txt")).Exit);
        Directory.CreateDirectory(Path.Combine(plain, ".mosaic"));
        File.WriteAllText(Path.Combine(plain, ".mosaic", "secrets-allowlist"), "path *.txt\n");
        Assert.Equal(0, (await RunAsync(plain, "c.txt")).Exit);
    }

    [Fact]
    public async Task A_rules_file_adds_rules()
    {
        var folder = TempDirectory.Create("cli-rules");
        File.WriteAllText(Path.Combine(folder, "rules.json"), """{ "rules": [ { "id": "acme-key", "description": "ACME key", "regex": "\\b(?<secret>acme_[a-z0-9]{16})\\b", "keywords": ["acme_"] } ] }""");
        File.WriteAllText(Path.Combine(folder, "a.txt"), "k = acme_9f3k2m7q1x8z4w6v\n");
        Assert.Equal(0, (await RunAsync(folder, "a.txt")).Exit);
        var custom = await RunAsync(folder, "--rules", "rules.json", "a.txt");
        Assert.Equal(1, custom.Exit);
        Assert.Contains("acme-key: ACME key: acme***", custom.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decoding_and_archives_can_be_turned_off()
    {
        var folder = TempDirectory.Create("cli-off");
        File.WriteAllText(Path.Combine(folder, "b64.txt"), "v: " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("export GITHUB_TOKEN=" + FakeSecrets.GitHubClassic("cli-off"))) + "\n");
        using (var zip = System.IO.Compression.ZipFile.Open(Path.Combine(folder, "a.zip"), System.IO.Compression.ZipArchiveMode.Create))
        {
            using var entry = new StreamWriter(zip.CreateEntry("x.env").Open());
            entry.Write("GITHUB_TOKEN=" + FakeSecrets.GitHubClassic("cli-zip"));
        }

        var all = await RunAsync(folder);
        Assert.Equal(1, all.Exit);
        Assert.Contains("a.zip!x.env:1:14: github-pat", all.Output, StringComparison.Ordinal);
        Assert.Contains("b64.txt:1:4: github-pat: GitHub personal access token (classic) (in base64-encoded text)", all.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync(folder, "--no-decode", "--no-archives")).Exit);
    }

    [Theory]
    [InlineData("--rules", "a.json", "--config", "b.toml")]
    [InlineData("--frobnicate")]
    [InlineData("--format", "xml")]
    [InlineData("--format")]
    [InlineData("--git", "HEAD", "--staged")]
    [InlineData("src", "--staged")]
    [InlineData("--staged=yes")]
    public async Task Usage_errors_exit_2_with_the_usage(params string[] args)
    {
        var result = await RunAsync(TempDirectory.Create("cli-usage"), args);
        Assert.Equal(2, result.Exit);
        Assert.Contains("usage: mosaic-orchestrator scan", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_errors_exit_2_with_a_message()
    {
        var folder = TempDirectory.Create("cli-errors");
        File.WriteAllText(Path.Combine(folder, "bad.json"), "{ not json");
        Assert.Contains("no such file or directory: missing.txt", (await RunAsync(folder, "missing.txt")).Error, StringComparison.Ordinal);
        Assert.Contains("bad.json: not a valid rules document", (await RunAsync(folder, "--rules", "bad.json")).Error, StringComparison.Ordinal);
        var notRepo = await RunAsync(folder, "--git", "main..HEAD");
        Assert.Equal(2, notRepo.Exit);
        Assert.Contains("no such commit", notRepo.Error, StringComparison.Ordinal);
        Assert.Equal(2, (await RunAsync(folder, "--git", "..HEAD")).Exit);
        Assert.Equal(2, (await RunAsync(folder, "--staged")).Exit);
        var help = await RunAsync(folder, "--help");
        Assert.Equal(0, help.Exit);
        Assert.Contains("--staged", help.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Large_files_are_skipped_and_listed()
    {
        var folder = TempDirectory.Create("cli-large");
        File.WriteAllText(Path.Combine(folder, "big.log"), new string('x', 2048) + GitHubClassic());
        var scanner = new PathScanner(new SecretEngine(SecretRules.Default, new ScanPolicy()), maxFileBytes: 1024);
        var findings = new List<SecretFinding>();
        scanner.Scan(["."], folder, findings);
        Assert.Empty(findings);
        Assert.Contains("big.log", Assert.Single(scanner.Skipped), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_real_executable_scans_and_exits_1_on_findings()
    {
        var folder = TempDirectory.Create("cli-exe");
        File.WriteAllText(Path.Combine(folder, "settings.yaml"), $"slack:\n  token: {SlackBot()}\n");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll"), "scan", "--format", "sarif" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 1, error);
        Assert.Contains("\"ruleId\": \"slack-token\"", await output, StringComparison.Ordinal);
        Assert.Equal(0, await CommandLine.RunAsync(["help"]));
    }

    [Fact]
    public void As_a_pre_commit_hook_it_refuses_commit_dash_a_that_adds_a_secret()
    {
        // `git commit -a` stages into a temporary index (GIT_INDEX_FILE) that only the hook's environment names.
        var repo = TestRepository.Create("cli-hook");
        repo.Write("config.yml", "region: eu\n");
        repo.Git("add", "config.yml");
        repo.Git("commit", "-qm", "initial");
        var hook = System.IO.Path.Combine(repo.Path, ".git", "hooks", "pre-commit");
        File.WriteAllText(hook, $"#!/bin/sh\nexec dotnet \"{System.IO.Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll")}\" scan --staged\n");
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(hook, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var before = repo.Git("rev-parse", "HEAD").Trim();
        repo.Write("config.yml", $"region: eu\ntoken: {GitHubClassic("hook")}\n");

        var start = new ProcessStartInfo("git") { WorkingDirectory = repo.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-a", "-m", "leak" })
        {
            start.ArgumentList.Add(argument);
        }

        using var commit = Process.Start(start)!;
        var error = commit.StandardError.ReadToEnd();
        commit.WaitForExit();

        Assert.True(commit.ExitCode != 0, "the hook must refuse the commit: " + error);
        Assert.Equal(before, repo.Git("rev-parse", "HEAD").Trim());
    }

    private static void AssertNoSecret(string text)
    {
        foreach (var secret in Secrets.Append(PemBody()))
        {
            // Nothing past the first four characters may appear.
            Assert.DoesNotContain(secret[4..Math.Min(secret.Length, 24)], text, StringComparison.Ordinal);
        }
    }
}
