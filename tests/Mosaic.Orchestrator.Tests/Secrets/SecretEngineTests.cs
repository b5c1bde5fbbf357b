using System.Text.Json;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Tests.Support;
using static Mosaic.Orchestrator.Tests.Secrets.DefaultRulesTests;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>The engine's mechanics: keywords, lines and columns, suppression, redaction, fingerprints, rules files.</summary>
public sealed class SecretEngineTests
{
    [Fact]
    public void Findings_carry_line_and_column_and_several_secrets_on_one_line_are_each_reported()
    {
        var first = GitHubClassic("one");
        var second = Npm("two");
        var findings = Scan("src/app.sh", $"#!/bin/sh\n\necho start\nexport A={first} B={second}\r\n");
        Assert.Equal(2, findings.Count);
        Assert.Equal(("github-pat", 4, 10), (findings[0].RuleId, findings[0].Line, findings[0].Column));
        Assert.Equal(("npm-access-token", 4, 10 + first.Length + 3), (findings[1].RuleId, findings[1].Line, findings[1].Column));
    }

    [Fact]
    public void Line_numbers_come_from_the_fragment_map_in_diffs()
    {
        var findings = new List<SecretFinding>();
        var engine = new SecretEngine(SecretRules.Default, new ScanPolicy());
        engine.Scan(new ScanFragment { File = "a.py", Commit = "abc", Text = $"x = 1\ntoken = \"{GitHubClassic()}\"", LineNumbers = [10, 42] }, findings);
        var finding = Assert.Single(findings);
        Assert.Equal((42, "abc"), (finding.Line, finding.Commit));
    }

    [Fact]
    public void A_multi_line_key_is_reported_once_at_the_line_where_its_body_starts()
    {
        var findings = Scan("k.pem", "header\n" + Pem());
        var finding = Assert.Single(findings);
        Assert.Equal(("private-key", 3, 1), (finding.RuleId, finding.Line, finding.Column));
    }

    [Fact]
    public void An_inline_mosaic_allow_comment_suppresses_the_line_only_when_the_policy_trusts_it()
    {
        var text = $"token = \"{GitHubClassic()}\"  # mosaic:allow test fixture\nother = \"{GitHubClassic("other")}\"\n";
        var trusted = Scan("t.py", text, inlineAllow: true);
        Assert.Equal(2, Assert.Single(trusted).Line);
        Assert.Equal(2, Scan("t.py", text, inlineAllow: false).Count);
    }

    [Fact]
    public void The_preview_shows_at_most_four_characters_and_at_most_a_quarter_of_the_secret()
    {
        Assert.Equal("ghp_***", SecretFingerprint.Preview(GitHubClassic()));
        Assert.Equal("ab***", SecretFingerprint.Preview("abcdefghij"));
        Assert.Equal("a***", SecretFingerprint.Preview("abcdefg"));
        Assert.Equal("***", SecretFingerprint.Preview("abc"));
        Assert.Equal("??ab***", SecretFingerprint.Preview("\n\"ab" + new string('z', 20)));
    }

    [Fact]
    public void The_fingerprint_is_stable_across_line_moves_and_differs_by_file_and_rule()
    {
        var secret = GitHubClassic();
        var a = Assert.Single(Scan("a.py", $"token = \"{secret}\""));
        var moved = Assert.Single(Scan("a.py", $"\n\n\n# moved\ntoken = \"{secret}\""));
        var elsewhere = Assert.Single(Scan("b.py", $"token = \"{secret}\""));
        Assert.Equal(a.Fingerprint, moved.Fingerprint);
        Assert.NotEqual(a.Fingerprint, elsewhere.Fingerprint);
        Assert.NotEqual(SecretFingerprint.Compute("github-pat", "a.py", secret), SecretFingerprint.Compute("generic-secret", "a.py", secret));
        Assert.Equal(SecretFingerprint.Compute("github-pat", "a.py", secret), a.Fingerprint);
    }

    [Fact]
    public void A_finding_holds_no_trace_of_the_secret_in_any_form()
    {
        var secret = Anthropic();
        var finding = Assert.Single(Scan("agent.ts", $"const key = '{secret}';"));
        var body = secret[4..];
        Assert.DoesNotContain(body, finding.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(body, JsonSerializer.Serialize(finding), StringComparison.Ordinal);
        Assert.DoesNotContain(body, SecretReports.Json([finding]), StringComparison.Ordinal);
        Assert.DoesNotContain(body, SecretReports.Sarif([finding], SecretRules.Default), StringComparison.Ordinal);
        var text = new StringWriter();
        SecretReports.WriteText(text, [finding]);
        Assert.DoesNotContain(body, text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_rule_regex_runs_only_on_lines_with_one_of_its_keywords()
    {
        var rules = SecretRules.Parse("""
            { "rules": [ { "id": "corp-token", "description": "Corp token", "regex": "(?<secret>corp_[a-z0-9]{12})", "keywords": ["zz-marker"] } ] }
            """, "test.json", baseRules: null);
        Assert.Empty(Scan("a.txt", "corp_a1b2c3d4e5f6", rules));
        Assert.Equal("corp***", Assert.Single(Scan("a.txt", "ZZ-MARKER corp_a1b2c3d4e5f6", rules)).Preview);
    }

    [Fact]
    public void A_user_file_extends_replaces_and_disables_default_rules()
    {
        var path = Path.Combine(TempDirectory.Create("rules"), "rules.json");
        File.WriteAllText(path, """
            // extends the defaults
            {
              "disable": ["npm-access-token"],
              "allowlist": { "stopwords": ["sandbox"] },
              "rules": [
                { "id": "corp-token", "description": "Corp token", "regex": "\\b(?<secret>corp_[a-z0-9]{12})\\b", "keywords": ["corp_"], "entropy": 2.5 },
                { "id": "github-pat", "description": "GitHub classic token (ours)", "regex": "\\b(?<secret>ghp_[A-Za-z0-9]{36})\\b", "keywords": ["ghp_"], "paths": ["src/**"] },
              ],
            }
            """);
        var rules = SecretRules.Load(path);
        Assert.Equal("corp-token", rules.Rules[0].Id);
        Assert.DoesNotContain(rules.Rules, r => r.Id == "npm-access-token");
        Assert.Equal(SecretRules.Default.Rules.Count, rules.Rules.Count);
        Assert.Equal("corp-token", Assert.Single(Scan("a.txt", "id corp_a1b2c3d4e5f6", rules)).RuleId);
        Assert.Empty(Scan("a.txt", "corp_aaaaaaaaaaaa", rules)); // under the entropy floor
        Assert.Empty(Scan(".npmrc", "x " + Npm(), rules));
        Assert.Empty(Scan("docs/a.md", "x " + GitHubClassic(), rules)); // the replacement only looks under src/
        Assert.Equal("GitHub classic token (ours)", Assert.Single(Scan("src/a.md", "x " + GitHubClassic(), rules)).Description);
        Assert.Empty(Scan("src/a.md", "x gh" + "p_sandbox" + Random("sb", 29), rules));

        File.WriteAllText(path, """{ "extend": false, "rules": [ { "id": "only", "description": "Only", "regex": "only-[0-9]{6}", "keywords": ["only-"] } ] }""");
        var only = SecretRules.Load(path);
        Assert.Equal("only", Assert.Single(only.Rules).Id);
        Assert.Equal("on***", Assert.Single(Scan("a.txt", "only-123456 " + GitHubClassic(), only)).Preview);
    }

    [Theory]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d", "regex": "abc" } ] }""", "keywords")]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d", "regex": "(", "keywords": ["a"] } ] }""", "invalid regex")]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d", "regex": "a", "keywords": ["a"] }, { "id": "x", "description": "d", "regex": "b", "keywords": ["b"] } ] }""", "twice")]
    [InlineData("""{ "rules": [ { "id": "Bad Id", "description": "d", "regex": "a", "keywords": ["a"] } ] }""", "\"id\"")]
    [InlineData("""{ "rules": [ { "id": "x", "regex": "a", "keywords": ["a"] } ] }""", "description")]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d", "regex": "a", "keywords": ["a"], "entropy": 9 } ] }""", "entropy")]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d", "regex": "a", "keywords": ["a"], "engine": "fast" } ] }""", "engine")]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d" } ] }""", "file rule")]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d", "paths": ["*.p12"], "keywords": ["a"] } ] }""", "file rule")]
    [InlineData("""{ "rules": [ { "id": "x", "description": "d", "regex": "a", "keywords": ["a"], "keyword": "typo" } ] }""", "not a valid rules document")]
    [InlineData("""{ "disable": ["nope"] }""", "unknown rule")]
    [InlineData("""{ "allowlist": { "sha256": ["abc"] } }""", "64 hex")]
    [InlineData("""[1, 2]""", "not a valid rules document")]
    public void A_bad_rules_file_is_refused_with_a_message_naming_the_problem(string json, string expected)
    {
        var error = Assert.Throws<SecretRulesException>(() => SecretRules.Parse(json, "rules.json", SecretRules.Default));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("rules.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disable_without_extend_and_a_missing_file_are_refused()
    {
        Assert.Throws<SecretRulesException>(() => SecretRules.Parse("""{ "extend": false, "disable": ["jwt"] }""", "r.json", SecretRules.Default));
        Assert.Contains("cannot read", Assert.Throws<SecretRulesException>(() => SecretRules.Load("/nonexistent/rules.json")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_regex_that_times_out_is_reported_so_that_crafted_input_cannot_hide_a_secret()
    {
        // A user's rule with a lookahead runs on the backtracking engine; (a+)+ on a long run of a's never finishes.
        var rules = SecretRules.Parse("""
            { "rules": [ { "id": "slow", "description": "Slow", "regex": "(?=a)(?<secret>(a+)+b)", "keywords": ["aaaa"] } ] }
            """, "slow.json", baseRules: null, TimeSpan.FromMilliseconds(50));
        var finding = Assert.Single(Scan("big.txt", "ok\n" + new string('a', 5000) + "c\n", rules));
        Assert.Equal((SecretEngine.TimeoutRuleId, 2, "***"), (finding.RuleId, finding.Line, finding.Preview));
        Assert.False(rules.Rules[0].Regex!.Options.HasFlag(System.Text.RegularExpressions.RegexOptions.NonBacktracking));
    }

    [Fact]
    public void The_global_path_allowlist_and_rule_path_allowlists_skip_files()
    {
        var rules = SecretRules.Parse("""{ "allowlist": { "paths": ["vendor/"] } }""", "r.json", SecretRules.Default);
        var text = "token = \"" + GitHubClassic() + "\"";
        Assert.Empty(Scan("vendor/lib/a.py", text, rules));
        Assert.Single(Scan("src/a.py", text, rules));
        Assert.Empty(Scan("deploy/id_rsa.pub", "x"));
    }

    [Theory]
    [InlineData("*.p12", "a/b/c.p12", true)]
    [InlineData("*.p12", "c.p12x", false)]
    [InlineData("src/**/*.cs", "src/a/b/C.cs", true)]
    [InlineData("src/**/*.cs", "src/C.cs", true)]
    [InlineData("src/**/*.cs", "lib/src/C.cs", false)]
    [InlineData("/docs/*.md", "docs/a.md", true)]
    [InlineData("docs/*.md", "docs/a/b.md", false)]
    [InlineData("fixtures/", "fixtures/keys/k.pem", true)]
    [InlineData("a?c.txt", "x/abc.txt", true)]
    [InlineData("**/.env.*", ".env.local", true)]
    [InlineData("a.b", "axb", false)]
    public void Path_globs_match_like_gitignore(string glob, string path, bool expected) =>
        Assert.Equal(expected, new PathGlob(glob).IsMatch(path));

    [Theory]
    [InlineData("*a*a*a*a*a*a*a*a*a*a*b", 1, 250)] // stars in one segment
    [InlineData("**/a/**/a/**/a/**/a/**/a/**/b", 200, 1)] // whole-segment stars
    [InlineData("a**a**a**a**a**a**a**b", 1, 250)] // stars that cross segments, inside one
    public void Globs_that_backtracking_would_explode_on_still_answer_at_once(string glob, int segments, int segmentLength)
    {
        // The backtracking engine would try every split of the path among the stars (about 250^10 for the first).
        var path = string.Join('/', Enumerable.Repeat(new string('a', segmentLength), segments));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        Assert.False(new PathGlob(glob).IsMatch(path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void The_allowlist_file_takes_fingerprints_and_path_globs_and_warns_about_the_rest()
    {
        var allowlist = SecretsAllowlist.Parse("# fixtures\n0123456789ABCDEF0123456789abcdef  # a test key\npath tests/fixtures/**\n\nnonsense here\npath \n");
        Assert.Contains("0123456789abcdef0123456789abcdef", allowlist.Fingerprints);
        Assert.True(PathGlob.MatchesAny(allowlist.Paths, "tests/fixtures/a/b.json"));
        Assert.Equal(2, allowlist.Warnings.Count);
        Assert.Contains(":5:", allowlist.Warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Entropy_is_shannon_bits_per_character()
    {
        Assert.Equal(0, Entropy.Shannon(""));
        Assert.Equal(0, Entropy.Shannon("aaaa"));
        Assert.Equal(2, Entropy.Shannon("abcd"), 6);
        Assert.Equal(1, Entropy.Shannon("éeée"), 6);
    }

    [Fact]
    public void Diff_hunk_headers_and_quoted_paths_are_read()
    {
        Assert.Equal((0, 3, 1), DiffReader.ParseHunk("@@ -0,0 +1,3 @@"));
        Assert.Equal((1, 1, 7), DiffReader.ParseHunk("@@ -5 +7 @@ func()"));
        Assert.Throws<FormatException>(() => DiffReader.ParseHunk("@@ nonsense"));
        Assert.Equal("dir/a b.txt", DiffReader.ParsePath("b/dir/a b.txt"));
        Assert.Equal("tab\there\"q\\é", DiffReader.ParsePath("\"b/tab\\there\\\"q\\\\\\303\\251\""));
        Assert.Null(DiffReader.ParsePath("/dev/null"));
    }
}
