using System.Security.Cryptography;
using System.Text;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// A secret found in a file or commit. It never holds the secret: only a redacted <see cref="Preview"/> (at most the
/// first 4 characters, fewer for short secrets, then <c>***</c>) and a one-way <see cref="Fingerprint"/>, so a finding
/// can go into logs, events, the agent record, JSON and SARIF as it is.
/// </summary>
public sealed record SecretFinding
{
    /// <summary>The rule that matched, e.g. <c>github-pat</c>.</summary>
    public required string RuleId { get; init; }

    /// <summary>What the rule detects, for people.</summary>
    public required string Description { get; init; }

    /// <summary>Repository-relative path with '/' separators (path scans: relative to the working directory).</summary>
    public required string File { get; init; }

    /// <summary>1-based line of the secret's first character in the new version of the file; 1 for file rules.</summary>
    public required int Line { get; init; }

    /// <summary>1-based column of the secret's first character; 0 for file rules (the whole file is the finding).</summary>
    public int Column { get; init; }

    /// <summary>The commit that added the line (diff scans of a range); null for staged changes and plain files.</summary>
    public string? Commit { get; init; }

    /// <summary>
    /// How the secret was encoded where it was found (<c>base64</c>, <c>hex</c>, <c>base64+gzip</c>, nested as
    /// <c>base64 &gt; hex</c>); null when it was written as it is. Line and column are those of the encoded run.
    /// </summary>
    public string? Decoded { get; init; }

    /// <summary>The secret's first characters (at most 4, at most a quarter of it) then <c>***</c>.</summary>
    public required string Preview { get; init; }

    /// <summary>See <see cref="SecretFingerprint"/>: 32 hex digits, stable while rule, file and secret stay the same.</summary>
    public required string Fingerprint { get; init; }
}

/// <summary>
/// The fingerprint of a finding: PBKDF2-HMAC-SHA256 with the secret as the password, the salt
/// <c>"mosaic-secret-fingerprint/v1\n" + ruleId + "\n" + file</c> and 10,000 iterations, first 16 bytes as lower-case
/// hex. The line and commit are not in it, so it survives lines moving and rebases; the file is, so allowlisting a test
/// fixture does not allowlist the same value elsewhere. One-way: a random token cannot be recovered from it, and the
/// iterations make guessing a weak password from it ten thousand times slower than a plain hash would.
/// </summary>
public static class SecretFingerprint
{
    public const int Iterations = 10_000;

    public static string Compute(string ruleId, string file, string secret)
    {
        var salt = Encoding.UTF8.GetBytes($"mosaic-secret-fingerprint/v1\n{ruleId}\n{file}");
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, Iterations, HashAlgorithmName.SHA256, 16);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The redacted preview: reveals at most 4 characters and at most a quarter of the secret.</summary>
    public static string Preview(string secret)
    {
        var reveal = Math.Min(4, secret.Length / 4);
        var shown = new StringBuilder(reveal + 3);
        foreach (var c in secret.AsSpan(0, reveal))
        {
            shown.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '+' or '/' or '.' ? c : '?');
        }

        return shown.Append("***").ToString();
    }

    /// <summary>The git blob id of a file's content: what identifies a secret file (file rules) in the fingerprint.</summary>
    public static string BlobId(ReadOnlySpan<byte> content)
    {
        var header = Encoding.ASCII.GetBytes($"blob {content.Length}\0");
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(header);
        sha1.AppendData(content);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }
}
