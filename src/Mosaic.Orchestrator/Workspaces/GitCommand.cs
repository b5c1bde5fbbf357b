using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Processes;

using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>What git printed and how it exited.</summary>
public sealed record GitResult(int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// A git command failed. Its reason is transient for network trouble worth retrying (a dead remote, a timeout), and
/// final for what a retry cannot fix (no such repository or branch, refused credentials, a rejected push). The message
/// never holds credentials.
/// </summary>
public sealed class GitException(string message, FailureReason reason) : AttemptFailedException(reason, message);

/// <summary>
/// Runs the git CLI with an argument list (never a shell string), no terminal prompts, a timeout that ends the whole
/// git process tree, and only the transports we allow: https, http, ssh and git always, file/local paths only with
/// ALLOW_LOCAL_REPOSITORIES, everything else (ext::, fd::, remote helpers) never.
/// </summary>
public sealed partial class GitCommand(bool allowLocal, TimeSpan timeout, int nice = 0)
{
    public static readonly string Executable = "git";

    public TimeSpan Timeout { get; } = timeout;

    /// <param name="maxOutputChars">When set, only the start of the output is kept (the rest is read and dropped).</param>
    public async Task<GitResult> RunAsync(
        string? workingDirectory, IReadOnlyList<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null, int? maxOutputChars = null)
    {
        // The time limit ends git's whole process tree (ssh, remote helpers) too.
        var ran = await ProcessRunner.RunAsync(Command(workingDirectory, arguments, environment, maxOutputChars), cancellationToken);
        return ran.TimedOut
            ? throw new GitException($"git {Describe(arguments)} timed out after {Timeout.TotalSeconds:F0} s", FailureReason.GitTimeout)
            : new GitResult(ran.ExitCode, ran.Output, Redact(ran.Error));
    }

    /// <summary>
    /// <see cref="RunAsync"/> for output too large to hold (<c>git log -p</c> of a big change): stdout goes to
    /// <paramref name="onLine"/> line by line as git prints it (see <see cref="ProcessRunner.RunStreamingAsync"/>;
    /// lines over <paramref name="maxLineChars"/> are cut) and <see cref="GitResult.Output"/> is empty. Same settings,
    /// environment and time limit as every other git call.
    /// </summary>
    public async Task<GitResult> RunStreamingAsync(string? workingDirectory, IReadOnlyList<string> arguments, int maxLineChars, LineHandler onLine,
        CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var ran = await ProcessRunner.RunStreamingAsync(Command(workingDirectory, arguments, environment), maxLineChars, onLine, cancellationToken);
        return ran.TimedOut
            ? throw new GitException($"git {Describe(arguments)} timed out after {Timeout.TotalSeconds:F0} s", FailureReason.GitTimeout)
            : new GitResult(ran.ExitCode, "", Redact(ran.Error));
    }

    private CapturedProcess Command(string? workingDirectory, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment, int? maxOutputChars = null)
    {
        // An allowlisted environment, like the agents': the orchestrator's secrets never reach git or what git runs.
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in new[] { "PATH", "HOME", "LANG", "TZ", "TMPDIR" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                variables[name] = value;
            }
        }

        // Only these transports; the variable overrides any protocol.<name>.allow in a repository's config, which an
        // agent sharing the cache could otherwise have set (protocol.ext.allow=always and a url.insteadOf).
        variables["GIT_ALLOW_PROTOCOL"] = allowLocal ? "https:http:ssh:git:file" : "https:http:ssh:git";
        variables["GIT_TERMINAL_PROMPT"] = "0";
        variables["GIT_ASKPASS"] = "/bin/false";
        variables["SSH_ASKPASS"] = "/bin/false";
        variables["GIT_SSH_COMMAND"] = "ssh -oBatchMode=yes -oConnectTimeout=20";
        variables["LC_ALL"] = "C";
        // The cache's refs and files are shared with the agents' worktrees: an agent could add a replace ref, a graft
        // or a shallow file to make "the base's gate file" or "what base..head adds" read as it likes. Our git calls
        // see the real object graph only (a path under /dev/null cannot exist).
        variables["GIT_NO_REPLACE_OBJECTS"] = "1";
        variables["GIT_GRAFT_FILE"] = "/dev/null/no-grafts";
        variables["GIT_SHALLOW_FILE"] = "/dev/null/not-shallow";
        // Settings from the operator's global and system git config must not change what we do (hooksPath, aliases...).
        variables["GIT_CONFIG_NOSYSTEM"] = "1";
        variables["GIT_CONFIG_GLOBAL"] = "/dev/null"; // e.g. url.<base>.insteadOf could rewrite a URL past our checks
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }

        return new CapturedProcess(Executable, [.. HardenedSettings.SelectMany(setting => new[] { "-c", setting }), .. arguments], variables, Timeout)
        {
            WorkingDirectory = workingDirectory,
            // Git work for agents is background work: at the agents' niceness it never outbids the API for the CPU.
            Nice = nice,
            MaxOutputChars = maxOutputChars,
        };
    }

    /// <summary>
    /// The bytes of a blob (<c>git cat-file blob</c>: as stored, no filters or textconv), or null when git cannot read
    /// it or it is larger than <paramref name="maxBytes"/>. Output is read as Latin-1, one character per byte.
    /// </summary>
    public async Task<byte[]?> ReadBlobAsync(string workingDirectory, string blobId, int maxBytes, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var ran = await ProcessRunner.RunAsync(Command(workingDirectory, ["cat-file", "blob", blobId], environment, maxBytes + 1) with { OutputEncoding = System.Text.Encoding.Latin1 }, cancellationToken);
        if (ran.TimedOut)
        {
            throw new GitException($"git cat-file blob {blobId} timed out after {Timeout.TotalSeconds:F0} s", FailureReason.GitTimeout);
        }

        return ran.ExitCode == 0 && ran.Output.Length <= maxBytes ? System.Text.Encoding.Latin1.GetBytes(ran.Output) : null;
    }

    /// <summary>Runs git and throws a classified <see cref="GitException"/> when it fails.</summary>
    public async Task<string> RunCheckedAsync(string? workingDirectory, IReadOnlyList<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var result = await RunAsync(workingDirectory, arguments, cancellationToken, environment);
        if (!result.Succeeded)
        {
            throw Failure(arguments, result);
        }

        return result.Output;
    }

    public static GitException Failure(IReadOnlyList<string> arguments, GitResult result)
    {
        var error = result.Error.Trim();
        var reason = NetworkTrouble().IsMatch(error) ? FailureReason.GitNetwork
            : NotFoundOrDenied().IsMatch(error) ? FailureReason.BadRepository
            : FailureReason.GitFailed;
        return new GitException($"git {Describe(arguments)} failed (exit {result.ExitCode}): {Tail(error)}", reason);
    }

    /// <summary>Replaces credentials in URLs (scheme://user:secret@host) wherever they appear.</summary>
    public static string Redact(string text) => Credentials().Replace(text, "$1***@");

    /// <summary>
    /// Settings that beat a repository's own config: agents share the cache's config and hooks folder and run code
    /// as the same user, so nothing in them may run code inside the orchestrator's git calls.
    /// </summary>
    private static readonly string[] HardenedSettings =
    [
        "core.hooksPath=/dev/null",
        "core.fsmonitor=false",
        "core.sshCommand=ssh -oBatchMode=yes -oConnectTimeout=20",
        "credential.helper=",
        "diff.external=",
        "uploadpack.packObjectsHook=",
        "protocol.allow=never",
    ];

    private static string Describe(IReadOnlyList<string> arguments) => Redact(string.Join(' ', arguments.Take(2)));

    private static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join(" | ", lines.TakeLast(4));
    }

    [GeneratedRegex(@"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")]
    private static partial Regex Credentials();

    [GeneratedRegex(@"Could not resolve host|Failed to connect|Couldn't connect|Connection refused|Connection timed out|timed out|early EOF|Connection reset|Connection closed|Network is unreachable|the remote end hung up unexpectedly|returned error: (5\d\d|429)|RPC failed|unexpected disconnect|TLS|SSL|gnutls", RegexOptions.IgnoreCase)]
    private static partial Regex NetworkTrouble();

    [GeneratedRegex("not found|does not appear to be a git repository|Authentication failed|Permission denied|not allowed|No such file|could not read Username|Repository not found|couldn't find remote ref", RegexOptions.IgnoreCase)]
    private static partial Regex NotFoundOrDenied();
}
