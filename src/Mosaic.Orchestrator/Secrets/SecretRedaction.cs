namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Hides the lines of free text in which the secret rules find a secret: what an agent printed is served to operators
/// and the dashboard, and an agent can print a credential it read (its own environment, a file of the repository) as
/// easily as commit one. The whole line goes, as in the diff: a rule's match can be shorter than the secret it found.
/// Encoded values count too (a base64 token is hidden like a plain one); no allowlist of a repository applies, since
/// the text is not a file of one.
/// </summary>
public sealed class SecretRedaction(SecretRules rules)
{
    /// <summary>The name the rules see for the text: rules restricted to some paths still run on it.</summary>
    private const string TextName = "agent.log";

    private readonly SecretEngine _engine = new(rules, new ScanPolicy());

    public static string HiddenLine(string ruleId) => $"[line hidden: secret finding {ruleId}]";

    /// <summary>The lines with each one that holds a secret replaced; the same list when none does.</summary>
    public IReadOnlyList<string> RedactLines(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0)
        {
            return lines;
        }

        var findings = Scan(string.Join('\n', lines));
        if (findings.Count == 0)
        {
            return lines;
        }

        var redacted = lines.ToArray();
        foreach (var finding in findings)
        {
            redacted[finding.Line - 1] = HiddenLine(finding.RuleId);
        }

        return redacted;
    }

    /// <summary>
    /// The text with each line that holds a secret replaced, its line ends kept as they were; the same string when no
    /// line does.
    /// </summary>
    public string Redact(string text)
    {
        var findings = Scan(text);
        if (findings.Count == 0)
        {
            return text;
        }

        var hidden = findings.GroupBy(f => f.Line).ToDictionary(g => g.Key, g => g.First().RuleId);
        var output = new System.Text.StringBuilder(text.Length);
        var line = 1;
        for (var start = 0; start < text.Length; line++)
        {
            var end = text.IndexOf('\n', start) is var newline and >= 0 ? newline : text.Length;
            if (hidden.TryGetValue(line, out var ruleId))
            {
                // A \r before the \n stays: the line's end is not part of what is hidden.
                var carriageReturn = end > start && text[end - 1] == '\r';
                output.Append(HiddenLine(ruleId)).Append(carriageReturn ? "\r" : "");
            }
            else
            {
                output.Append(text, start, end - start);
            }

            if (end < text.Length)
            {
                output.Append('\n');
            }

            start = end + 1;
        }

        return output.ToString();
    }

    private List<SecretFinding> Scan(string text)
    {
        var findings = new List<SecretFinding>();
        _engine.Scan(new ScanFragment { File = TextName, Text = text }, findings);
        return findings;
    }
}
