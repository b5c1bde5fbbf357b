using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Tests.Support;
using Mosaic.Orchestrator.Workspaces;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>A work tree with a main branch, for diff-mode tests on real git.</summary>
internal sealed class TestRepository
{
    private TestRepository(string path) => Path = path;

    public string Path { get; }

    public static TestRepository Create(string name)
    {
        var repository = new TestRepository(TempDirectory.Create($"scan-{name}"));
        repository.Git("init", "--quiet", "--initial-branch=main");
        return repository;
    }

    public string Git(params string[] arguments) => GitRemote.Git(Path, arguments);

    public TestRepository Write(string file, string content)
    {
        var full = System.IO.Path.Combine(Path, file);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return this;
    }

    public TestRepository WriteBytes(string file, byte[] content)
    {
        var full = System.IO.Path.Combine(Path, file);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return this;
    }

    public TestRepository Move(string from, string to)
    {
        var target = System.IO.Path.Combine(Path, to);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        File.Move(System.IO.Path.Combine(Path, from), target);
        return this;
    }

    public string Commit(string message = "change")
    {
        Git("add", "--all");
        Git("commit", "--quiet", "--allow-empty", "-m", message);
        return Git("rev-parse", "HEAD").Trim();
    }
}

public sealed class GitSecretScannerTests
{
    private static readonly ISecretScanner Scanner = new ServiceCollection().AddSecretScanning().BuildServiceProvider().GetRequiredService<ISecretScanner>();

    private static string Lines(int count, string prefix = "line") => string.Concat(Enumerable.Range(1, count).Select(i => $"{prefix} {i}\n"));

    [Fact]
    public async Task Only_lines_added_by_the_range_are_reported_with_their_file_line_and_commit()
    {
        var repo = TestRepository.Create("added");
        var old = GitHubClassic("already-in-base");
        repo.Write("config.py", Lines(5) + $"token = \"{old}\"\n").Write("README.md", "# app\n");
        var baseCommit = repo.Commit("base");

        repo.Write("config.py", Lines(5) + $"token = \"{old}\"\nmore = 1\n"); // touches the file, not the old secret's line
        repo.Write("src/client.ts", Lines(3) + $"const key = '{Anthropic()}';\n");
        var first = repo.Commit("first");
        repo.Write("README.md", "# app\n\nintro\n" + $"export NPM_TOKEN={Npm()}\n");
        var second = repo.Commit("second");

        var findings = await Scanner.ScanCommitsAsync(repo.Path, baseCommit, second, CancellationToken.None);
        Assert.Equal(2, findings.Count);
        Assert.Equal(("anthropic-api-key", "src/client.ts", 4, first), (findings[0].RuleId, findings[0].File, findings[0].Line, findings[0].Commit));
        Assert.Equal(("npm-access-token", "README.md", 4, second), (findings[1].RuleId, findings[1].File, findings[1].Line, findings[1].Commit));
        Assert.Empty(await Scanner.ScanCommitsAsync(repo.Path, second, second, CancellationToken.None));
    }

    [Fact]
    public async Task A_secret_added_then_removed_inside_the_range_is_still_reported_with_the_commit_that_added_it()
    {
        var repo = TestRepository.Create("removed");
        var baseCommit = repo.Commit("base");
        repo.Write("deploy.sh", $"export AWS_ACCESS_KEY_ID={AwsAccessKeyId()}\n");
        var leak = repo.Commit("leak");
        repo.Write("deploy.sh", "export AWS_ACCESS_KEY_ID=$FROM_VAULT\n");
        var head = repo.Commit("oops, remove it");

        var finding = Assert.Single(await Scanner.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None));
        Assert.Equal(("aws-access-key-id", leak), (finding.RuleId, finding.Commit));
    }

    [Fact]
    public async Task Renamed_files_are_not_reported_again_but_lines_added_while_renaming_are()
    {
        var repo = TestRepository.Create("rename");
        repo.Write("old/settings.json", "{\n" + string.Concat(Enumerable.Range(1, 30).Select(i => $"  \"setting{i}\": {i},\n")) + $"  \"stripe\": \"{StripeLive()}\"\n}}\n");
        repo.Write("old/keep.txt", Lines(20));
        var baseCommit = repo.Commit("base");
        repo.Move("old/settings.json", "new/settings.json").Move("old/keep.txt", "new/keep.txt");
        var moved = repo.Commit("move");
        Assert.Empty(await Scanner.ScanCommitsAsync(repo.Path, baseCommit, moved, CancellationToken.None));

        repo.Move("new/keep.txt", "final/keep.txt");
        repo.Write("final/keep.txt", Lines(20) + $"ghToken: {GitHubOAuth()}\n");
        var head = repo.Commit("move and edit");
        var finding = Assert.Single(await Scanner.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None));
        Assert.Equal(("github-oauth-token", "final/keep.txt", 21, head), (finding.RuleId, finding.File, finding.Line, finding.Commit));
    }

    [Fact]
    public async Task A_nul_line_or_utf16_does_not_hide_a_key()
    {
        var repo = TestRepository.Create("nul-hide");
        repo.Write("README.md", "base\n");
        var baseCommit = repo.Commit("base");
        repo.WriteBytes("deploy.sh", System.Text.Encoding.UTF8.GetBytes($"#!/bin/sh\n\0\nexport TOKEN={GitHubClassic("nul")}\n"));
        repo.WriteBytes("setup.ps1", System.Text.Encoding.Unicode.GetBytes($"$token = \"{GitHubClassic("utf16")}\"\r\n"));
        var head = repo.Commit("hide");

        var findings = await Scanner.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);

        Assert.Contains(findings, f => f.File == "deploy.sh" && f.RuleId == "github-pat" && f.Line == 3);
        Assert.Contains(findings, f => f.File == "setup.ps1" && f.RuleId == "github-pat");

        // A person's scan reads UTF-16 as text too, and skips only content full of control bytes.
        var person = await new GitSecretScanner(SecretRules.Default, honorInlineAllow: true, GitSecretScanner.DefaultTimeout).ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);
        Assert.Contains(person, f => f.File == "setup.ps1" && f.RuleId == "github-pat");
    }

    [Fact]
    public async Task A_persons_scan_skips_binary_files_the_pipeline_reads_them_and_secret_files_are_reported_by_name()
    {
        var repo = TestRepository.Create("binary");
        var baseCommit = repo.Commit("base");
        var binary = new byte[600];
        new Random(7).NextBytes(binary);
        binary[10] = 0;
        var withToken = binary.Concat(System.Text.Encoding.UTF8.GetBytes("\ntoken=" + GitHubClassic() + "\n")).ToArray();
        repo.WriteBytes("assets/logo.png", withToken);
        repo.WriteBytes("certs/client.p12", binary);
        // An attributes line cannot hide text from the scan: git is told to treat every file as text.
        repo.Write(".gitattributes", "*.txt binary\n");
        repo.Write("notes.txt", $"slack: {SlackBot()}\n");
        var head = repo.Commit("assets");

        // A person's scan skips the binary's content; the pipeline reads every added byte (an agent could hide a key
        // behind a few binary bytes).
        var person = new GitSecretScanner(SecretRules.Default, honorInlineAllow: true, GitSecretScanner.DefaultTimeout);
        var skipped = await person.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);
        Assert.Equal(["certs/client.p12:pkcs12-file", "notes.txt:slack-token"], skipped.Select(f => $"{f.File}:{f.RuleId}").Order(StringComparer.Ordinal));
        var findings = await Scanner.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None);
        Assert.Equal(["assets/logo.png:github-pat", "certs/client.p12:pkcs12-file", "notes.txt:slack-token"], findings.Select(f => $"{f.File}:{f.RuleId}").Order(StringComparer.Ordinal));
        var p12 = findings.Single(f => f.RuleId == "pkcs12-file");
        Assert.Equal((1, 0, "***"), (p12.Line, p12.Column, p12.Preview));
        Assert.Equal(SecretFingerprint.Compute("pkcs12-file", "certs/client.p12", "blob:" + repo.Git("rev-parse", $"{head}:certs/client.p12").Trim()), p12.Fingerprint);
    }

    [Fact]
    public async Task Unusual_file_names_are_reported_as_they_are()
    {
        var repo = TestRepository.Create("names");
        var baseCommit = repo.Commit("base");
        repo.Write("docs/naïve file \"quoted\".md", $"key: {GoogleApiKey()}\n");
        var head = repo.Commit("names");
        var finding = Assert.Single(await Scanner.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None));
        Assert.Equal("docs/naïve file \"quoted\".md", finding.File);
    }

    [Fact]
    public async Task What_a_merge_commit_adds_beyond_its_parents_is_scanned()
    {
        var repo = TestRepository.Create("merge");
        repo.Write("app.cfg", "mode = a\n");
        var baseCommit = repo.Commit("base");
        repo.Git("checkout", "--quiet", "-b", "side");
        repo.Write("app.cfg", "mode = b\n");
        repo.Commit("side");
        repo.Git("checkout", "--quiet", "main");
        repo.Write("app.cfg", "mode = c\n");
        repo.Commit("main");
        // The conflict is resolved with a line neither parent has: an "evil merge".
        Assert.ThrowsAny<InvalidOperationException>(() => repo.Git("merge", "--quiet", "side"));
        repo.Write("app.cfg", $"mode = c\nsendgrid = {SendGrid()}\n");
        var merge = repo.Commit("merge side");

        var findings = await Scanner.ScanCommitsAsync(repo.Path, baseCommit, merge, CancellationToken.None);
        var finding = Assert.Single(findings);
        Assert.Equal(("sendgrid-api-key", merge, 2), (finding.RuleId, finding.Commit, finding.Line));
    }

    [Fact]
    public async Task The_allowlist_is_read_from_the_base_so_a_branch_cannot_allowlist_its_own_leak()
    {
        var repo = TestRepository.Create("allow");
        var fixture = GitHubClassic("fixture");
        var fixtureFingerprint = SecretFingerprint.Compute("github-pat", "tests/fixture.py", fixture);
        repo.Write(".mosaic/secrets-allowlist", $"# reviewed test fixtures\n{fixtureFingerprint}\npath vendor/**\n");
        var baseCommit = repo.Commit("base");

        // The agent's branch: the allowlisted fixture, a vendored file, and a real leak that it allowlists itself,
        // both by fingerprint and by path, and with an inline comment.
        var leak = OpenAiProject("leak");
        var leakFingerprint = SecretFingerprint.Compute("openai-api-key", "src/llm.py", leak);
        repo.Write("tests/fixture.py", $"TOKEN = \"{fixture}\"\n");
        repo.Write("vendor/lib/config.js", $"const t = '{GitHubClassic("vendored")}';\n");
        repo.Write("src/llm.py", $"client = OpenAI(api_key=\"{leak}\")  # mosaic:allow\n");
        repo.Write(".mosaic/secrets-allowlist", $"{fixtureFingerprint}\n{leakFingerprint}\npath vendor/**\npath src/**\n");
        var head = repo.Commit("agent work");

        var finding = Assert.Single(await Scanner.ScanCommitsAsync(repo.Path, baseCommit, head, CancellationToken.None));
        Assert.Equal(("openai-api-key", "src/llm.py", leakFingerprint), (finding.RuleId, finding.File, finding.Fingerprint));

        // Once the allowlist is in the base (a reviewer merged it), the next range honours it.
        repo.Write("src/llm.py", $"client = OpenAI(api_key=\"{leak}\")\nbackup = OpenAI(api_key=\"{leak}\")\n");
        Assert.Empty(await Scanner.ScanCommitsAsync(repo.Path, head, repo.Commit("again"), CancellationToken.None));
        var fromHead = await new GitSecretScanner(SecretRules.Default).ReadAllowlistAsync(repo.Path, head, CancellationToken.None);
        Assert.Contains(leakFingerprint, fromHead.Fingerprints);
    }

    [Fact]
    public async Task Staged_changes_are_scanned_with_the_allowlist_of_HEAD_and_no_commit()
    {
        var repo = TestRepository.Create("staged");
        var scanner = new GitSecretScanner(SecretRules.Default, honorInlineAllow: true, GitSecretScanner.DefaultTimeout);
        repo.Write("a.env", "x=1\n").Git("add", "a.env");
        Assert.Empty(await scanner.ScanStagedAsync(repo.Path, CancellationToken.None)); // no HEAD yet
        repo.Commit("first");
        repo.Write("app.yaml", $"url: postgres://svc:{Password()}@db.internal/app\n").Git("add", "app.yaml");
        repo.Write("unstaged.txt", $"token: {GitHubClassic()}\n");
        var finding = Assert.Single(await scanner.ScanStagedAsync(repo.Path, CancellationToken.None));
        Assert.Equal(("url-password", "app.yaml", 1, (string?)null), (finding.RuleId, finding.File, finding.Line, finding.Commit));
    }

    [Fact]
    public async Task Bad_revisions_and_non_repositories_fail_with_a_git_exception()
    {
        var repo = TestRepository.Create("bad");
        var head = repo.Commit("base");
        await Assert.ThrowsAsync<GitException>(() => Scanner.ScanCommitsAsync(repo.Path, "--output=/tmp/x", head, CancellationToken.None));
        await Assert.ThrowsAsync<GitException>(() => Scanner.ScanCommitsAsync(repo.Path, "no-such-branch", head, CancellationToken.None));
        await Assert.ThrowsAsync<GitException>(() => Scanner.ScanCommitsAsync(TempDirectory.Create("not-a-repo"), "HEAD", "HEAD", CancellationToken.None));
    }

    [Fact]
    public void The_scanner_is_registered_once_with_the_default_rules()
    {
        var services = new ServiceCollection().AddSecretScanning().AddSecretScanning().BuildServiceProvider();
        Assert.IsType<GitSecretScanner>(services.GetRequiredService<ISecretScanner>());
        Assert.Same(SecretRules.Default, services.GetRequiredService<SecretRules>());
    }
}
