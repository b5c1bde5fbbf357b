using System.Reflection;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>This build's version, as `mosaic-orchestrator version` and GET /health report it.</summary>
public static class ServiceVersion
{
    private const int CommitChars = 7;

    /// <summary>
    /// The informational version: the project's &lt;Version&gt;, plus "+" and the first 7 hex digits of the commit
    /// when the SDK knew it at build time (it appends all 40; 7 say which build it is, as git's short ids do).
    /// </summary>
    public static string Text { get; } = Shorten(
        typeof(ServiceVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ServiceVersion).Assembly.GetName().Version?.ToString(3)
        ?? "0.0.0");

    public static string Shorten(string version) =>
        version.IndexOf('+', StringComparison.Ordinal) is var plus and >= 0 && version.Length > plus + 1 + CommitChars
            ? version[..(plus + 1 + CommitChars)]
            : version;
}
