using System.Text;
using System.Text.RegularExpressions;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// A path glob as in .gitignore, matched against a repository-relative path with '/' separators: <c>*</c> is any run
/// of characters within one path segment, <c>?</c> one such character, <c>**</c> any number of whole segments. A glob
/// without a '/' matches the file name in any folder (<c>*.p12</c> is <c>**/*.p12</c>); a glob ending in '/' matches
/// everything under that folder. The regex that matches it is built on first use, and it runs on the backtracking
/// engine when that is linear for it: at most one <c>*</c> in each segment and one <c>**</c>, as a whole segment
/// (every default glob). A non-backtracking regex holds about 370 KB of tables (the default rules' 33 globs took
/// 12.2 MB after the first scan, 51 KB this way); a glob with more stars in a segment, on which backtracking could
/// take polynomial time, keeps the non-backtracking engine.
/// </summary>
public sealed class PathGlob
{
    private readonly Lazy<Regex> _regex;

    public PathGlob(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        Pattern = pattern.Trim();
        var body = Pattern.TrimStart('/');
        if (!Pattern.TrimEnd('/').Contains('/', StringComparison.Ordinal))
        {
            body = "**/" + body;
        }

        if (body.EndsWith('/'))
        {
            body += "**";
        }

        // The translation escapes every literal, so the pattern is always valid: nothing to check before the first use.
        var translated = Translate(body);
        var engine = BacktrackingIsLinear(body) ? RegexOptions.None : RegexOptions.NonBacktracking;
        _regex = new(() => new Regex(translated, RegexOptions.CultureInvariant | engine, SecretRules.MatchTimeout));
    }

    /// <summary>A path pattern given as a regular expression (gitleaks' <c>path</c> and <c>paths</c>).</summary>
    public static PathGlob FromRegex(string regex, string where)
    {
        try
        {
            return new PathGlob(regex, new Regex(regex, RegexOptions.CultureInvariant, SecretRules.MatchTimeout));
        }
        catch (ArgumentException ex)
        {
            throw new SecretRulesException($"{where}: invalid path regex: {ex.Message}", ex);
        }
    }

    private PathGlob(string pattern, Regex regex)
    {
        Pattern = pattern;
        _regex = new(regex);
    }

    public string Pattern { get; }

    public bool IsMatch(string path) => _regex.Value.IsMatch(path);

    public static bool MatchesAny(IReadOnlyList<PathGlob> globs, string path)
    {
        foreach (var glob in globs)
        {
            if (glob.IsMatch(path))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when each segment has at most one <c>*</c> and there is at most one <c>**</c>, a whole segment: then the
    /// regex repeats only <c>[^/]*</c>, at most once per segment, and whole segments in one place, so a failed match
    /// tries each split of a segment, and of the path, once. Two stars in a segment (or two <c>**</c>) would make the
    /// backtracking engine try every combination of splits.
    /// </summary>
    private static bool BacktrackingIsLinear(string glob)
    {
        var segments = glob.Split('/');
        return segments.Count(segment => segment == "**") <= 1
            && segments.All(segment => segment == "**" || segment.Count(c => c == '*') <= 1);
    }

    private static string Translate(string glob)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                var wholeSegment = (i == 0 || glob[i - 1] == '/') && (i + 2 == glob.Length || glob[i + 2] == '/');
                if (wholeSegment && i + 2 < glob.Length)
                {
                    regex.Append("(?:[^/]*/)*"); // "**/" is zero or more folders
                    i += 2;
                }
                else
                {
                    regex.Append(".*");
                    i++;
                }
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        return regex.Append('$').ToString();
    }
}
