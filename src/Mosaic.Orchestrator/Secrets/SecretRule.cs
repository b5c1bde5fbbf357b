using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// One detection rule. A content rule has a regex (with a group named <c>secret</c>; without it the whole match is the
/// secret) and keywords: the regex runs only on lines containing one of them. A file rule has no regex: any file whose
/// path matches <see cref="Paths"/> is itself a finding (an <c>id_rsa</c>, a <c>.p12</c>).
/// </summary>
public sealed class SecretRule
{
    private readonly DeferredRegex? _regex;

    /// <param name="regex">Built on first use (see <see cref="DeferredRegex"/>): the pattern was checked when the rule was read.</param>
    /// <param name="secretGroup">The number of the group named <c>secret</c> (0: the whole match).</param>
    internal SecretRule(string id, string description, DeferredRegex? regex, IReadOnlyList<string> keywords, double minEntropy, bool multiline, IReadOnlyList<PathGlob> paths, RuleAllowlist allowlist, TokenChecksum checksum = TokenChecksum.None, bool binaryOnly = false, int secretGroup = 0)
    {
        Checksum = checksum;
        BinaryOnly = binaryOnly;
        Id = id;
        Description = description;
        _regex = regex;
        Keywords = keywords;
        MinEntropy = minEntropy;
        Multiline = multiline;
        Paths = paths;
        Allowlist = allowlist;
        SecretGroup = secretGroup;
    }

    public string Id { get; }

    public string Description { get; }

    public IReadOnlyList<string> Keywords { get; }

    /// <summary>Minimum Shannon entropy (bits per character) of the secret; 0 = no floor.</summary>
    public double MinEntropy { get; }

    /// <summary>The regex may match across lines (it runs on a window that starts at the keyword's line).</summary>
    public bool Multiline { get; }

    public bool IsFileRule => _regex is null;

    /// <summary>The checksum the format carries; a value that fails it is a fake or mistyped token, not a finding.</summary>
    public TokenChecksum Checksum { get; }

    /// <summary>A file rule that fires only when the file is binary: a key store is, a text file named like one is not.</summary>
    public bool BinaryOnly { get; }

    /// <summary>A rule without keywords (a gitleaks rule may have none) runs its regex on every line.</summary>
    public bool RunsOnEveryLine => _regex is not null && Keywords.Count == 0;

    /// <summary>The rule's regex, built the first time a line holds one of its keywords.</summary>
    internal Regex? Regex => _regex?.Value;

    internal int SecretGroup { get; }

    /// <summary>Only files matching one of these globs (none = every file).</summary>
    internal IReadOnlyList<PathGlob> Paths { get; }

    internal RuleAllowlist Allowlist { get; }

    /// <summary>Whether the rule looks at this file at all (its path restriction and its path allowlist).</summary>
    internal bool AppliesTo(string path) =>
        (Paths.Count == 0 || PathGlob.MatchesAny(Paths, path)) && !PathGlob.MatchesAny(Allowlist.Paths, path);

    public override string ToString() => Id;
}

/// <summary>
/// What a rule (or the whole rule set) lets through: secrets matching a regex, matches or lines matching a regex,
/// secrets containing a stopword, files matching a path glob, and exact secrets known by their SHA-256.
/// </summary>
internal sealed class RuleAllowlist
{
    public static readonly RuleAllowlist Empty = new([], [], [], [], [], []);

    /// <summary>Commits whose findings this allowlist lets through (gitleaks' <c>commits</c>).</summary>
    public IReadOnlySet<string> Commits { get; init; } = new HashSet<string>();

    public RuleAllowlist(IReadOnlyList<DeferredRegex> secretRegexes, IReadOnlyList<DeferredRegex> matchRegexes, IReadOnlyList<DeferredRegex> lineRegexes, IReadOnlyList<string> stopwords, IReadOnlyList<PathGlob> paths, IReadOnlyCollection<string> sha256)
    {
        SecretRegexes = secretRegexes;
        MatchRegexes = matchRegexes;
        LineRegexes = lineRegexes;
        Stopwords = stopwords;
        Paths = paths;
        Sha256 = new HashSet<string>(sha256, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<DeferredRegex> SecretRegexes { get; }

    public IReadOnlyList<DeferredRegex> MatchRegexes { get; }

    public IReadOnlyList<DeferredRegex> LineRegexes { get; }

    public IReadOnlyList<string> Stopwords { get; }

    public IReadOnlyList<PathGlob> Paths { get; }

    public HashSet<string> Sha256 { get; }

    /// <summary>Why this allowlist lets the value through (for <c>scan --verbose</c>), or null when it does not.</summary>
    public string? AllowedBecause(string secret, ReadOnlySpan<char> match, ReadOnlySpan<char> line, string? commit = null)
    {
        if (commit is not null && Commits.Count > 0 && Commits.Any(c => commit.StartsWith(c, StringComparison.OrdinalIgnoreCase)))
        {
            return $"commit {commit} is allowlisted";
        }

        foreach (var stopword in Stopwords)
        {
            if (secret.Contains(stopword, StringComparison.OrdinalIgnoreCase))
            {
                return $"the value contains \"{stopword}\"";
            }
        }

        if (FirstMatch(SecretRegexes, secret) is { } value)
        {
            return $"the value matches {value}";
        }

        if (FirstMatch(MatchRegexes, match) is { } matched)
        {
            return $"the match matches {matched}";
        }

        if (FirstMatch(LineRegexes, line) is { } wholeLine)
        {
            return $"the line matches {wholeLine}";
        }

        return Sha256.Count > 0 && Sha256.Contains(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret))))
            ? "a published test value, listed by its SHA-256"
            : null;
    }

    private static DeferredRegex? FirstMatch(IReadOnlyList<DeferredRegex> regexes, ReadOnlySpan<char> text)
    {
        foreach (var regex in regexes)
        {
            if (regex.Value.IsMatch(text))
            {
                return regex;
            }
        }

        return null;
    }
}

/// <summary>
/// A regex built on first use. A non-backtracking regex costs 1-2.5 MB of tables when it is built, and the default
/// rules hold well over a hundred (rules and allowlists): most of the service's memory at idle, and most never run,
/// because their keywords never appear. The pattern is checked for syntax when the rules are read.
/// </summary>
public sealed class DeferredRegex(string pattern, Func<Regex> build)
{
    private readonly Lazy<Regex> _regex = new(build);

    public Regex Value => _regex.Value;

    /// <summary>One built already (a team's own gitleaks rules, few and all meant to run).</summary>
    public static DeferredRegex Of(Regex regex) => new(regex.ToString(), () => regex);

    public override string ToString() => pattern;
}
