using System.Text.RegularExpressions;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// Which repository addresses an agent may be pointed at. The address reaches git, which can run programs through
/// some transports (ext::) or read local files: only network URLs (https, http, ssh, git, scp-like) pass, local
/// paths and file:// only with ALLOW_LOCAL_REPOSITORIES. Credentials inside URLs are redacted before any output.
/// </summary>
public static partial class RepositoryAddress
{
    public const int MaxLength = 2048;
    private static readonly string[] NetworkSchemes = ["https", "http", "ssh", "git"];

    /// <summary>Null when acceptable, else why not.</summary>
    public static string? Check(string address, bool allowLocal)
    {
        if (address.Length == 0)
        {
            return "must not be empty";
        }

        if (address.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }

        if (address.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return "must not contain whitespace or control characters";
        }

        if (address.StartsWith('-'))
        {
            return "must not start with '-'";
        }

        if (address.Contains("::", StringComparison.Ordinal))
        {
            return "git remote-helper transports (such as ext:: or fd::) are not allowed";
        }

        var schemeEnd = address.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd > 0)
        {
            var scheme = address[..schemeEnd].ToLowerInvariant();
            if (scheme == "file")
            {
                return allowLocal ? null : "file:// repositories need ALLOW_LOCAL_REPOSITORIES=true";
            }

            if (!NetworkSchemes.Contains(scheme))
            {
                return $"scheme '{scheme}' is not allowed; use https, http, ssh or git";
            }

            return Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Host.Length > 0 ? null : "is not a valid URL";
        }

        if (ScpLike().IsMatch(address))
        {
            return null;
        }

        if (address.StartsWith('/') || address.StartsWith("./", StringComparison.Ordinal) || address.StartsWith("../", StringComparison.Ordinal))
        {
            return allowLocal ? null : "local repositories need ALLOW_LOCAL_REPOSITORIES=true";
        }

        return "must be an https, http, ssh or git URL, or scp-like user@host:path";
    }

    /// <summary>
    /// Splits user:password out of an http(s) URL: the URL without it (what the cache's config stores and what names
    /// the cache) and an Authorization header to hand git per call. Other addresses come back unchanged.
    /// </summary>
    public static (string Url, string? AuthorizationHeader) SplitCredentials(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.UserInfo.Length == 0)
        {
            return (address, null);
        }

        var clean = new UriBuilder(uri) { UserName = "", Password = "" }.Uri.ToString();
        var basic = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Uri.UnescapeDataString(uri.UserInfo)));
        return (clean, $"Authorization: Basic {basic}");
    }

    /// <summary>The address with any user info (user:password@) replaced, for logs, events and errors.</summary>
    public static string Redact(string address) => UserInfo().Replace(address, "$1***@");

    // [user@]host:path where host has no slash before the colon (git's rule for scp-like syntax).
    [GeneratedRegex(@"^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:(?!//)[^\s]+$")]
    private static partial Regex ScpLike();

    [GeneratedRegex(@"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]+@")]
    private static partial Regex UserInfo();
}

/// <summary>git check-ref-format's rules for a branch name, checked before git ever sees it.</summary>
public static class BranchName
{
    public const int MaxLength = 255;

    public static string? Check(string name)
    {
        if (name.Length == 0)
        {
            return "must not be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }

        if (name.StartsWith('-') || name.StartsWith('/') || name.EndsWith('/') || name.EndsWith('.') || name == "@")
        {
            return "must not start with '-' or '/', end with '/' or '.', or be '@'";
        }

        if (name.Any(c => char.IsControl(c) || c is ' ' or '~' or '^' or ':' or '?' or '*' or '[' or '\\' || c == 127))
        {
            return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\";
        }

        if (name.Contains("..", StringComparison.Ordinal) || name.Contains("@{", StringComparison.Ordinal) || name.Contains("//", StringComparison.Ordinal))
        {
            return "must not contain '..', '@{' or '//'";
        }

        if (name.Split('/').Any(part => part.StartsWith('.') || part.EndsWith(".lock", StringComparison.Ordinal)))
        {
            return "no path component may start with '.' or end with '.lock'";
        }

        return null;
    }
}
