using System.Text.RegularExpressions;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// A repository's <c>.mosaic/secrets-allowlist</c>. One entry a line; <c>#</c> starts a comment:
/// <code>
/// 3f1c0a9b5d7e2f4a6c8b0d1e3f5a7c9b   # a finding's fingerprint: that rule, that file, that secret
/// path tests/fixtures/**              # a path glob: nothing under it is scanned
/// </code>
/// For agents' commits it is read from the base revision, never from the branch being scanned, so a change cannot
/// allowlist itself. Lines that are neither are ignored and listed in <see cref="Warnings"/>.
/// </summary>
public sealed partial class SecretsAllowlist
{
    /// <summary>Where the allowlist lives in a repository.</summary>
    public const string RepositoryPath = ".mosaic/secrets-allowlist";

    /// <summary>gitleaks' ignore file, honoured beside ours: one finding a line as <c>commit:file:rule:line</c> or <c>file:rule:line</c>.</summary>
    public const string GitleaksIgnorePath = ".gitleaksignore";

    public static readonly SecretsAllowlist Empty = new([], [], []);

    private SecretsAllowlist(HashSet<string> fingerprints, IReadOnlyList<PathGlob> paths, IReadOnlyList<string> warnings, IReadOnlySet<string>? gitleaksIgnore = null)
    {
        Fingerprints = fingerprints;
        Paths = paths;
        Warnings = warnings;
        GitleaksIgnore = gitleaksIgnore ?? new HashSet<string>();
    }

    /// <summary>The entries of <see cref="GitleaksIgnorePath"/>, as written.</summary>
    public IReadOnlySet<string> GitleaksIgnore { get; }

    /// <summary>This allowlist with the findings a <c>.gitleaksignore</c> lists (comments and blank lines skipped).</summary>
    public SecretsAllowlist WithGitleaksIgnore(string text)
    {
        var entries = new HashSet<string>(GitleaksIgnore, StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var entry = raw.Trim();
            if (entry.Length > 0 && !entry.StartsWith('#'))
            {
                entries.Add(entry);
            }
        }

        return new SecretsAllowlist((HashSet<string>)Fingerprints, Paths, Warnings, entries);
    }

    /// <summary>Whether <c>.gitleaksignore</c> lists this finding (with its commit, or without one).</summary>
    public bool IsInGitleaksIgnore(string? commit, string file, string ruleId, int line) =>
        GitleaksIgnore.Count > 0
        && (GitleaksIgnore.Contains($"{file}:{ruleId}:{line}") || (commit is not null && GitleaksIgnore.Contains($"{commit}:{file}:{ruleId}:{line}")));

    public IReadOnlySet<string> Fingerprints { get; }

    public IReadOnlyList<PathGlob> Paths { get; }

    public IReadOnlyList<string> Warnings { get; }

    public static SecretsAllowlist Parse(string text)
    {
        var fingerprints = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var paths = new List<PathGlob>();
        var warnings = new List<string>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var entry = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (entry.Length == 0)
            {
                continue;
            }

            if (Fingerprint().IsMatch(entry))
            {
                fingerprints.Add(entry.ToLowerInvariant());
            }
            else if (entry.StartsWith("path ", StringComparison.Ordinal) && entry[5..].Trim() is { Length: > 0 } glob)
            {
                paths.Add(new PathGlob(glob));
            }
            else
            {
                warnings.Add($"{RepositoryPath}:{number}: not a fingerprint (32 hex digits) or 'path <glob>'; ignored");
            }
        }

        return new SecretsAllowlist(fingerprints, paths, warnings);
    }

    [GeneratedRegex("^[0-9a-fA-F]{32}$")]
    private static partial Regex Fingerprint();
}
