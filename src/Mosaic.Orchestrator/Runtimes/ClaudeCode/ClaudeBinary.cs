using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>
/// Finds the claude executable (CLAUDE_PATH, or a name looked up on PATH) and reads its version. The answer is
/// kept until the file changes: readiness asks often and `claude --version` costs a process start.
/// </summary>
public sealed class ClaudeBinary(string configuredPath, string scratchDirectory)
{
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromSeconds(15);
    private const int VersionOutputChars = 4096; // a version line; whatever else a wrong binary prints is dropped
    private volatile Probe? _known;

    /// <summary>The resolved executable and its version, or why it cannot be used.</summary>
    public async Task<(string? Path, string? Version, string? Problem)> ProbeAsync(CancellationToken cancellationToken)
    {
        var path = Resolve(configuredPath);
        if (path is null)
        {
            return (null, null, NotFound(configuredPath));
        }

        // Two callers at once may both read the version; that costs a process, not correctness.
        var file = new FileInfo(path);
        // A failure is kept only briefly: a --version that timed out once on a busy machine must not fail every
        // spawn until a restart.
        if (_known is { } known && known.Path == path && known.Modified == file.LastWriteTimeUtc && known.Length == file.Length
            && (known.Problem is null || Environment.TickCount64 - known.CheckedAt < FailureKeptMs))
        {
            return (path, known.Version, known.Problem);
        }

        var (version, problem) = await ReadVersionAsync(path, cancellationToken);
        _known = new Probe(path, file.LastWriteTimeUtc, file.Length, version, problem, Environment.TickCount64);
        return (path, version, problem);
    }

    private const long FailureKeptMs = 10_000;

    /// <summary>What is missing and the ways to get it: setup.sh's copy is found without any setting.</summary>
    internal static string NotFound(string configuredPath)
    {
        var where = configuredPath.Contains('/', StringComparison.Ordinal)
            ? $"CLAUDE_PATH={configuredPath} is not an executable file"
            : $"'{configuredPath}' is not on PATH and there is no {ClaudeLocation.SetupInstallPath} in this checkout";
        return $"the Claude Code CLI was not found ({where}); install it with scripts/setup.sh (into .tools/claude, found " +
            "without CLAUDE_PATH) or npm install @anthropic-ai/claude-code, or set CLAUDE_PATH to the claude executable";
    }

    private sealed record Probe(string Path, DateTime Modified, long Length, string? Version, string? Problem, long CheckedAt);

    public static string? Resolve(string configured)
    {
        if (configured.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(configured);
            return IsExecutable(full) ? full : null;
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, configured);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    internal static bool IsExecutable(string path) =>
        !OperatingSystem.IsWindows() && File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    private async Task<(string? Version, string? Problem)> ReadVersionAsync(string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(scratchDirectory);
        var probe = new CapturedProcess(path, ["--version"], new Dictionary<string, string>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
            ["HOME"] = scratchDirectory,
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
        }, VersionTimeout)
        {
            WorkingDirectory = scratchDirectory,
            MaxOutputChars = VersionOutputChars,
        };
        try
        {
            var ran = await ProcessRunner.RunAsync(probe, cancellationToken);
            var text = ran.Output.Trim();
            return ran switch
            {
                { TimedOut: true } => (null, $"{path} --version did not answer within {VersionTimeout.TotalSeconds:0} s"),
                { ExitCode: 0 } when text.Length > 0 => (text.Split('\n')[0].Trim(), null),
                _ => (null, $"{path} --version exited with code {ran.ExitCode}"),
            };
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (null, $"{path} could not be started: {ex.Message}");
        }
    }
}
