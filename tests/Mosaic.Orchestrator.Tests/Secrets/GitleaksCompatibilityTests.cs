using System.Text.Json;
using Mosaic.Orchestrator.Cli;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Tests.Support;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>gitleaks configs (.gitleaks.toml), .gitleaksignore and gitleaks' report shape.</summary>
public sealed class GitleaksCompatibilityTests
{
    // A config as teams write them for gitleaks v8: Go regex syntax, secretGroup, both allowlist forms.
    private const string Config = """
        title = "team config"

        [extend]
        useDefault = true
        disabledRules = ["generic-api-key", "twilio-api-key"]

        [[rules]]
        id = "acme-token"
        description = "ACME internal token"
        regex = '''(?i)acme[_-]?token\s*[:=]\s*["']?(?P<tok>acm_[[:alnum:]]{24})'''
        secretGroup = 1
        keywords = ["acm_"]
        [rules.allowlist]
        regexTarget = "line"
        regexes = ['''#\s*sandbox''']

        [[rules]]
        id = "internal-host-password"
        description = "Password in an internal URL"
        regex = '''corp\.internal/\?pw=([a-z0-9]{12})'''

        [[rules]]
        id = "kube-config"
        description = "A kubeconfig file"
        path = '''(?:^|/)kubeconfig$'''

        [[allowlists]]
        description = "vendored code"
        paths = ['''^third_party/''']

        [allowlist]
        stopwords = ["staging"]
        """;

    private static List<SecretFinding> Scan(SecretRules rules, string file, string text, SecretsAllowlist? allowlist = null)
    {
        var findings = new List<SecretFinding>();
        var engine = new SecretEngine(rules, new ScanPolicy { Allowlist = allowlist ?? SecretsAllowlist.Empty });
        if (engine.Scan(new ScanFragment { File = file, Text = text }, findings) == 0)
        {
            engine.ScanFileName(file, null, false, () => "0", findings);
        }

        return findings;
    }

    [Fact]
    public void A_gitleaks_config_gives_its_rules_allowlists_and_extends_ours()
    {
        var rules = GitleaksConfig.Parse(Config, ".gitleaks.toml", SecretRules.Default);
        var token = "acm_" + Random("acme", 24);
        Assert.Equal("acme-token", Assert.Single(Scan(rules, "app.env", "ACME_TOKEN=" + token)).RuleId);
        Assert.Equal("acm_***", Scan(rules, "a.yaml", "acme-token: \"" + token + "\"")[0].Preview);
        Assert.Empty(Scan(rules, "app.env", "ACME_TOKEN=" + token + " # sandbox"));              // rule allowlist, target line
        Assert.Empty(Scan(rules, "third_party/x/app.env", "ACME_TOKEN=" + token));             // global paths (regex)
        Assert.Empty(Scan(rules, "app.env", "ACME_TOKEN=acm_staging" + Random("stg", 17)));    // global stopword
        // No keywords: the rule sees every line.
        Assert.Equal("internal-host-password", Assert.Single(Scan(rules, "notes.md", "see https://corp.internal/?pw=" + Random("pw", 12, Lower + Digits))).RuleId);
        // A path-only rule is a file rule.
        Assert.Equal("kube-config", Assert.Single(Scan(rules, "ops/kubeconfig", "apiVersion: v1\n")).RuleId);
        // useDefault: our rules still run, minus the disabled one (gitleaks' own rule ids are ignored).
        Assert.Equal("github-pat", Assert.Single(Scan(rules, "ci.sh", "export GITHUB_TOKEN=" + GitHubClassic("gl"))).RuleId);
        Assert.DoesNotContain(rules.Rules, r => r.Id == "twilio-api-key");
    }

    [Fact]
    public void Without_useDefault_the_config_is_the_whole_rule_set_and_errors_name_the_rule()
    {
        var rules = GitleaksConfig.Parse("[[rules]]\nid = \"only\"\nregex = '''only_[a-z]{8}'''\nkeywords = [\"only_\"]\n", "g.toml", SecretRules.Default);
        Assert.Equal(["only"], rules.Rules.Select(r => r.Id));
        Assert.Empty(Scan(rules, "ci.sh", "export GITHUB_TOKEN=" + GitHubClassic("alone")));

        var bad = Assert.Throws<SecretRulesException>(() => GitleaksConfig.Parse("[[rules]]\nid = \"broken\"\nregex = '''(unclosed'''\n", "g.toml", SecretRules.Default));
        Assert.Contains("rules[0] (broken)", bad.Message, StringComparison.Ordinal);
        Assert.Throws<SecretRulesException>(() => GitleaksConfig.Parse("not toml = = =", "g.toml", SecretRules.Default));
    }

    [Fact]
    public async Task Config_report_and_ignore_file_round_trip_on_the_command_line()
    {
        var folder = TempDirectory.Create("gitleaks-cli");
        await File.WriteAllTextAsync(Path.Combine(folder, ".gitleaks.toml"), Config);
        await File.WriteAllTextAsync(Path.Combine(folder, "app.env"), "ACME_TOKEN=acm_" + Random("cli", 24) + "\n");

        var (exit, report) = await RunAsync(folder, "--config", ".gitleaks.toml", "--format", "gitleaks", "app.env");
        Assert.Equal(1, exit);
        using var json = JsonDocument.Parse(report);
        var finding = Assert.Single(json.RootElement.EnumerateArray().ToList());
        Assert.Equal("acme-token", finding.GetProperty("RuleID").GetString());
        Assert.Equal("app.env", finding.GetProperty("File").GetString());
        Assert.Equal(1, finding.GetProperty("StartLine").GetInt32());
        Assert.Equal("acm_***", finding.GetProperty("Secret").GetString()); // redacted, always
        foreach (var field in new[] { "Description", "EndLine", "StartColumn", "EndColumn", "Match", "SymlinkFile", "Commit", "Entropy", "Author", "Email", "Date", "Message", "Tags" })
        {
            Assert.True(finding.TryGetProperty(field, out _), field);
        }

        var fingerprint = finding.GetProperty("Fingerprint").GetString()!;
        Assert.Equal("app.env:acme-token:1", fingerprint);
        await File.WriteAllTextAsync(Path.Combine(folder, ".gitleaksignore"), "# reviewed\n" + fingerprint + "\n");
        Assert.Equal(0, (await RunAsync(folder, "--config", ".gitleaks.toml", "--format", "gitleaks", "app.env")).Exit);
    }

    [Fact]
    public async Task The_pipeline_reads_gitleaks_config_and_ignore_file_from_the_base()
    {
        var repository = TestRepository.Create("gitleaks-base");
        var baseCommit = repository.Write(".gitleaks.toml", Config).Write("README.md", "hello\n").Commit("base");
        var token = "acm_" + Random("pipeline", 24);
        var head = repository.Write("app.env", "ACME_TOKEN=" + token + "\n").Commit("leak");
        var scanner = new ServiceCollection().AddSecretScanning().BuildServiceProvider().GetRequiredService<ISecretScanner>();
        var finding = Assert.Single(await scanner.ScanCommitsAsync(repository.Path, baseCommit, head, CancellationToken.None));
        Assert.Equal("acme-token", finding.RuleId);

        // The branch cannot ignore its own leak: .gitleaksignore counts from the base only.
        var ignored = repository.Write(".gitleaksignore", $"{head}:app.env:acme-token:1\n").Commit("ignore it");
        Assert.Single(await scanner.ScanCommitsAsync(repository.Path, baseCommit, ignored, CancellationToken.None));

        // Once on the base, an entry (here without a commit: file:rule:line) is honoured.
        var reviewed = TestRepository.Create("gitleaks-ignored");
        var reviewedBase = reviewed.Write(".gitleaks.toml", Config).Write(".gitleaksignore", "app.env:acme-token:1\n").Commit("base");
        var reviewedHead = reviewed.Write("app.env", "ACME_TOKEN=" + token + "\n").Commit("fixture");
        Assert.Empty(await scanner.ScanCommitsAsync(reviewed.Path, reviewedBase, reviewedHead, CancellationToken.None));
    }

    private static async Task<(int Exit, string Output)> RunAsync(string folder, params string[] args)
    {
        var output = new StringWriter();
        var exit = await ScanCommand.RunAsync(args, output, new StringWriter(), folder, CancellationToken.None);
        return (exit, output.ToString());
    }
}
