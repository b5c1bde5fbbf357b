using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>The JSON report: the findings, redacted as they always are.</summary>
internal sealed record SecretScanReport(int Count, IReadOnlyList<SecretFinding> Findings);

/// <summary>Writes findings as text for people, JSON for scripts, or SARIF 2.1.0 for code-scanning tools and IDEs.</summary>
internal static class SecretReports
{
    public const string SarifSchema = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json";

    private static readonly string ToolVersion =
        typeof(SecretReports).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>The first five findings on one line, for a record's error: rule and location, never the value.</summary>
    public static string Summary(IReadOnlyList<SecretFinding> findings) =>
        string.Join("; ", findings.Take(5).Select(f => $"{f.RuleId} in {f.File}:{f.Line} ({f.Preview})"));

    public static void WriteText(TextWriter output, IReadOnlyList<SecretFinding> findings)
    {
        foreach (var f in findings)
        {
            var commit = f.Commit is null ? "" : $" (commit {f.Commit[..Math.Min(12, f.Commit.Length)]})";
            var location = f.Column > 0 ? $"{f.File}:{f.Line}:{f.Column}" : f.File;
            output.WriteLine($"{location}: {f.RuleId}: {f.Description}: {f.Preview} fingerprint {f.Fingerprint}{commit}");
        }
    }

    /// <summary>One line per allowed value: <c>file:line:column: rule: allowed (reason)</c>, like a finding's location.</summary>
    public static void WriteAllowed(TextWriter output, IReadOnlyList<AllowedValue> allowed)
    {
        foreach (var a in allowed)
        {
            var commit = a.Commit is null ? "" : $" (commit {a.Commit[..Math.Min(12, a.Commit.Length)]})";
            var location = a.Column > 0 ? $"{a.File}:{a.Line}:{a.Column}" : a.File;
            output.WriteLine($"{location}: {a.RuleId}: allowed ({a.Reason}){commit}");
        }
    }

    public static string Json(IReadOnlyList<SecretFinding> findings) =>
        JsonSerializer.Serialize(new SecretScanReport(findings.Count, findings), SecretsJsonContext.Default.SecretScanReport);

    /// <summary>
    /// gitleaks' JSON report shape (an array of objects with Description, StartLine, EndLine, StartColumn, EndColumn,
    /// Match, Secret, File, SymlinkFile, Commit, Entropy, Author, Email, Date, Message, Tags, RuleID, Fingerprint), so
    /// tools that read gitleaks reports read ours. Match and Secret carry the redacted preview (as gitleaks --redact
    /// does): the value is never written. Fingerprint is gitleaks' <c>commit:file:rule:line</c> (<c>file:rule:line</c>
    /// without a commit), the line a <c>.gitleaksignore</c> takes.
    /// </summary>
    public static string Gitleaks(IReadOnlyList<SecretFinding> findings)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var f in findings)
            {
                json.WriteStartObject();
                json.WriteString("Description", f.Description);
                json.WriteNumber("StartLine", f.Line);
                json.WriteNumber("EndLine", f.Line);
                json.WriteNumber("StartColumn", f.Column);
                json.WriteNumber("EndColumn", f.Column);
                json.WriteString("Match", f.Preview);
                json.WriteString("Secret", f.Preview);
                json.WriteString("File", f.File);
                json.WriteString("SymlinkFile", "");
                json.WriteString("Commit", f.Commit ?? "");
                json.WriteNumber("Entropy", 0);
                json.WriteString("Author", "");
                json.WriteString("Email", "");
                json.WriteString("Date", "");
                json.WriteString("Message", "");
                json.WriteStartArray("Tags");
                if (f.Decoded is { } decoded)
                {
                    json.WriteStringValue($"decoded:{decoded}");
                }

                json.WriteEndArray();
                json.WriteString("RuleID", f.RuleId);
                json.WriteString("Fingerprint", GitleaksFingerprint(f));
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>gitleaks' fingerprint of a finding: what a <c>.gitleaksignore</c> line holds.</summary>
    public static string GitleaksFingerprint(SecretFinding f) =>
        f.Commit is null ? $"{f.File}:{f.RuleId}:{f.Line}" : $"{f.Commit}:{f.File}:{f.RuleId}:{f.Line}";

    /// <summary>
    /// One run of the tool "mosaic-orchestrator" whose driver lists every rule, and one result per finding (level
    /// error) with the file as a relative URI, the line and column, the commit as a property and the fingerprint as a
    /// partial fingerprint, which code-scanning services use to follow a result across commits.
    /// </summary>
    public static string Sarif(IReadOnlyList<SecretFinding> findings, SecretRules rules)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("$schema", SarifSchema);
            json.WriteString("version", "2.1.0");
            json.WriteStartArray("runs");
            json.WriteStartObject();

            json.WriteStartObject("tool");
            json.WriteStartObject("driver");
            json.WriteString("name", "mosaic-orchestrator");
            json.WriteString("semanticVersion", ToolVersion);
            json.WriteStartArray("rules");
            var ruleIds = rules.Rules.Select(r => (r.Id, r.Description)).ToList();
            foreach (var extra in findings.Where(f => ruleIds.All(r => r.Id != f.RuleId)).DistinctBy(f => f.RuleId))
            {
                ruleIds.Add((extra.RuleId, extra.Description)); // e.g. scan-timeout
            }

            foreach (var (id, description) in ruleIds)
            {
                json.WriteStartObject();
                json.WriteString("id", id);
                json.WriteStartObject("shortDescription");
                json.WriteString("text", description);
                json.WriteEndObject();
                json.WriteStartObject("defaultConfiguration");
                json.WriteString("level", "error");
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();

            json.WriteStartArray("results");
            foreach (var f in findings)
            {
                json.WriteStartObject();
                json.WriteString("ruleId", f.RuleId);
                json.WriteNumber("ruleIndex", ruleIds.FindIndex(r => r.Id == f.RuleId));
                json.WriteString("level", "error");
                json.WriteStartObject("message");
                json.WriteString("text", $"{f.Description}: {f.Preview}");
                json.WriteEndObject();
                json.WriteStartArray("locations");
                json.WriteStartObject();
                json.WriteStartObject("physicalLocation");
                json.WriteStartObject("artifactLocation");
                json.WriteString("uri", RelativeUri(f.File));
                json.WriteString("uriBaseId", "%SRCROOT%");
                json.WriteEndObject();
                json.WriteStartObject("region");
                json.WriteNumber("startLine", f.Line);
                if (f.Column > 0)
                {
                    json.WriteNumber("startColumn", f.Column);
                }

                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteStartObject("partialFingerprints");
                json.WriteString("mosaicSecretFingerprint/v1", f.Fingerprint);
                json.WriteEndObject();
                if (f.Commit is not null)
                {
                    json.WriteStartObject("properties");
                    json.WriteString("commit", f.Commit);
                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A relative URI reference: each path segment percent-encoded, '/' kept.</summary>
    internal static string RelativeUri(string file) =>
        string.Join('/', file.Split('/').Select(Uri.EscapeDataString));

    internal static string Plural(int count, string noun) =>
        count.ToString(CultureInfo.InvariantCulture) + " " + noun + (count == 1 ? "" : "s");
}
