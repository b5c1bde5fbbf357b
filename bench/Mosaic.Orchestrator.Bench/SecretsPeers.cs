using System.Text.Json;
using Mosaic.Orchestrator.Secrets;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// Recall and false alarms on peer scanners' public examples, one corpus per folder of <c>corpora/</c>, each extracted
/// once by its <c>extract.py</c> (see the README there): the literal true and false positives of gitleaks' rule tests
/// (<c>corpora/gitleaks</c>) and secretlint's rule snapshots (<c>corpora/secretlint</c>). Each case is the whole content
/// of one file, named as the peer's test names it when it does, else <c>config.txt</c> (gitleaks tests those with no
/// path, so a neutral name adds no rule of ours). The samples gitleaks expands from one literal secret in 26 syntaxes
/// (<c>GenerateSampleSecrets</c> with literal arguments) are counted apart, so 19 secrets do not outweigh the rest. A
/// true positive counts as found when anything is reported in it; a false positive is a false alarm when anything is.
/// Our scanner runs with its default rules and policy (decoding on, depth 2), the same API as
/// <see cref="SecretsRecall"/>.
/// </summary>
internal static class SecretsPeers
{
    private sealed record Case(string Rule, string Kind, string? Path, string Text, bool Expanded);

    /// <summary>The named corpora (gitleaks, secretlint), or every one; BENCH_PEERS_CASES names a cases.json instead.</summary>
    public static void Run(TextWriter output, SecretRules rules, IReadOnlyList<string> corpora)
    {
        IEnumerable<string> files = Environment.GetEnvironmentVariable("BENCH_PEERS_CASES") is { Length: > 0 } other
            ? [other]
            : (corpora.Count > 0 ? corpora : ["gitleaks", "secretlint"]).Select(name => System.IO.Path.Combine(AppContext.BaseDirectory, "corpora", name, "cases.json"));
        foreach (var file in files)
        {
            RunOne(output, rules, file);
        }
    }

    private static void RunOne(TextWriter output, SecretRules rules, string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var root = document.RootElement;
        var cases = root.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("rule").GetString()!,
            c.GetProperty("kind").GetString()!,
            c.GetProperty("path").ValueKind == JsonValueKind.String ? c.GetProperty("path").GetString() : null,
            c.GetProperty("text").GetString()!,
            c.TryGetProperty("generated", out var generated) && generated.GetBoolean())).ToList();
        var skipped = root.GetProperty("skipped").EnumerateArray().Select(s => s.GetProperty("kind").GetString()).ToList();

        var results = cases.Select(c => (Case: c, Findings: Scan(rules, c.Path ?? "config.txt", c.Text))).ToList();
        var tps = results.Where(r => r.Case.Kind == "tp").ToList();
        // A false positive of one rule that is word for word (same file, same text) a true positive of another rule
        // (cloudflare's three rules list each other's keys) is a secret, not a clean example: counted apart, not as a
        // false alarm. The same text under another file name stays: gitleaks' path-restricted rules test that.
        bool OtherRulesSecret(Case c) => tps.Any(t => t.Case.Rule != c.Rule && t.Case.Path == c.Path && t.Case.Text == c.Text);
        var crossRule = results.Count(r => r.Case.Kind == "fp" && OtherRulesSecret(r.Case));
        results = results.Where(r => r.Case.Kind == "tp" || !OtherRulesSecret(r.Case)).ToList();
        var fps = results.Where(r => r.Case.Kind == "fp").ToList();
        var literal = tps.Where(r => !r.Case.Expanded).ToList();
        var expanded = tps.Where(r => r.Case.Expanded).ToList();
        var found = literal.Count(r => r.Findings.Count > 0);
        var foundExpanded = expanded.Count(r => r.Findings.Count > 0);
        var alarms = fps.Count(r => r.Findings.Count > 0);

        output.WriteLine();
        var commit = root.GetProperty("commit").GetString()!;
        var peer = root.GetProperty("source").GetString()!.TrimEnd('/').Split('/')[^1];
        output.WriteLine($"recall and false alarms on the rule examples of {peer} (commit {commit[..Math.Min(12, commit.Length)]}): "
            + $"{literal.Count} literal true positives, {expanded.Count} more expanded from GenerateSampleSecret(s) calls with literal "
            + $"arguments, {fps.Count} false positives; {cases.Select(c => c.Rule).Distinct().Count()} rules; skipped (corpora/{peer}/README.md "
            + $"says why): {skipped.Count(k => k == "tp")} true and {skipped.Count(k => k == "fp")} false positives; {crossRule} false "
            + "positives left out as another rule's true positive");
        output.WriteLine();
        output.WriteLine("| recall, literal true positives | recall, expanded samples | recall, both | false alarms (false positives with a finding) |");
        output.WriteLine("|---|---|---|---|");
        output.WriteLine($"| {found}/{literal.Count} = {Ratio(found, literal.Count)} | {foundExpanded}/{expanded.Count} = {Ratio(foundExpanded, expanded.Count)} | {found + foundExpanded}/{tps.Count} = {Ratio(found + foundExpanded, tps.Count)} | {alarms}/{fps.Count} = {Ratio(alarms, fps.Count)} |");
        output.WriteLine();

        // A family is the rule id's first word (aws-access-token and aws-secret-key are "aws"), so one vendor is one row.
        output.WriteLine("| family | literal true positives | missed | expanded samples | missed | false positives | false alarms |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        var families = results.GroupBy(r => Family(r.Case.Rule))
            .Select(g => (Family: g.Key,
                Tps: g.Count(r => r.Case.Kind == "tp" && !r.Case.Expanded), Missed: g.Count(r => r.Case.Kind == "tp" && !r.Case.Expanded && r.Findings.Count == 0),
                Expanded: g.Count(r => r.Case.Kind == "tp" && r.Case.Expanded), MissedExpanded: g.Count(r => r.Case.Kind == "tp" && r.Case.Expanded && r.Findings.Count == 0),
                Fps: g.Count(r => r.Case.Kind == "fp"), Alarms: g.Count(r => r.Case.Kind == "fp" && r.Findings.Count > 0)))
            .Where(f => f.Missed > 0 || f.MissedExpanded > 0 || f.Alarms > 0)
            .OrderByDescending(f => f.Missed + f.Alarms + f.MissedExpanded).ThenBy(f => f.Family, StringComparer.Ordinal);
        foreach (var f in families)
        {
            output.WriteLine($"| {f.Family} | {f.Tps} | {f.Missed} | {f.Expanded} | {f.MissedExpanded} | {f.Fps} | {f.Alarms} |");
        }

        if (Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
        {
            foreach (var (c, findings) in results.Where(r => (r.Case.Kind == "tp") == (r.Findings.Count == 0)))
            {
                var what = c.Kind == "tp" ? "missed" : "false alarm (" + string.Join(", ", findings.Select(f => f.RuleId).Distinct()) + ")";
                var text = c.Text.ReplaceLineEndings("\\n");
                output.WriteLine($"    {what}{(c.Expanded ? " (expanded)" : "")}: {c.Rule}{(c.Path is null ? "" : " in " + c.Path)}: {(text.Length > 140 ? text[..140] + "..." : text)}");
            }
        }
    }

    private static string Ratio(int part, int whole) => whole == 0 ? "-" : ((double)part / whole).ToString("P1", System.Globalization.CultureInfo.InvariantCulture);

    private static string Family(string rule) => rule.Split('-')[0];

    private static List<SecretFinding> Scan(SecretRules rules, string file, string text)
    {
        var findings = new List<SecretFinding>();
        var engine = new SecretEngine(rules, new ScanPolicy { DecodeDepth = 2 });
        if (engine.Scan(new ScanFragment { File = file, Text = text }, findings) == 0)
        {
            engine.ScanFileName(file, null, text.Contains('\0', StringComparison.Ordinal), () => "0", findings);
        }

        return findings;
    }
}
