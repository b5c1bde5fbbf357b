using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Secrets;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// Hides the lines of a unified diff that the secret scan reported: the finding's file and its line in the new
/// version. The record holds only redacted findings; the diff served beside it must not hand the secret out whole.
/// </summary>
public static partial class DiffRedaction
{
    public static string Redact(string diff, IReadOnlyList<SecretFinding>? findings)
    {
        if (findings is not { Count: > 0 })
        {
            return diff;
        }

        var hidden = findings.GroupBy(f => (f.File, f.Line)).ToDictionary(g => g.Key, g => g.First());
        var output = new StringBuilder(diff.Length);
        string? file = null;
        var line = 0;
        foreach (var text in diff.Split('\n'))
        {
            if (text.StartsWith("+++ ", StringComparison.Ordinal))
            {
                file = text.StartsWith("+++ b/", StringComparison.Ordinal) ? text[6..] : null;
            }
            else if (HunkHeader().Match(text) is { Success: true } hunk)
            {
                line = int.Parse(hunk.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            else if (file is not null && text.Length > 0 && text[0] is '+' or ' ')
            {
                if (text[0] == '+' && hidden.TryGetValue((file, line), out var finding))
                {
                    output.Append(CultureInfo.InvariantCulture, $"+[line hidden: secret finding {finding.RuleId} at {file}:{line}]\n");
                    line++;
                    continue;
                }

                line++;
            }

            output.Append(text).Append('\n');
        }

        return output.ToString(0, output.Length - 1); // Split gave one part more than there were newlines
    }

    [GeneratedRegex(@"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")]
    private static partial Regex HunkHeader();
}
