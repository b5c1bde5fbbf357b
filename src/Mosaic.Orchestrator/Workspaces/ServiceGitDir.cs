using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// A git dir of the service's own over a repository cache: the cache's objects, refs, packed refs and reflogs through
/// symlinks, and a HEAD, a config and an info folder that the service wrote and no agent can reach. It is the common
/// dir (GIT_COMMON_DIR) of the service's git calls in an agent's worktree, and the repository itself (a bare one) of
/// its reads of the agent's commits (the secret scan's `log --diff-merges=remerge`, the conflict check's `merge-tree`,
/// which merge and so run merge drivers). Why: the cache's config and info/attributes are shared with every agent on the repository, and any of
/// them can write there at any moment, even while our `git add` starts. A filter driver (filter.x.clean, .process), an
/// include, core.fsmonitor, a diff or merge driver there, named by a .gitattributes in the worktree or by
/// info/attributes, would run as the service inside its own git call (and what it starts with setsid outlives every
/// kill). Rewriting the cache's config first leaves a window; overriding each named driver with -c leaves one too
/// (attributes can change between our reading and git's). With this folder git never reads the cache's config or
/// info at all: a driver named by an attribute has no definition, so nothing runs, and files are added as they are.
/// The worktree's own git dir (HEAD, index) is still the agent's; config.worktree is read only with
/// extensions.worktreeConfig, which this config does not set.
/// </summary>
public sealed class ServiceGitDir : IDisposable
{
    /// <summary>What the cache shares with its worktrees and our calls need: objects and refs (symlinks, which may dangle).</summary>
    private static readonly string[] Shared = ["objects", "refs", "packed-refs", "logs"];

    // gc.auto=0: a commit may start `gc --auto`, which would repack the cache under other agents' running git.
    // attributesFile: not ~/.config/git/attributes, which an agent can write too (the global config is already off).
    private const string Config = """
        [core]
        	repositoryformatversion = 0
        	filemode = true
        	bare = true
        	logAllRefUpdates = false
        	attributesFile = /dev/null
        	fsmonitor = false
        	untrackedCache = false
        	hooksPath = /dev/null
        [gc]
        	auto = 0

        """;

    // mosaic-git-<pid>-<guid> in the temporary folder: the pid tells a leftover from a git dir in use.
    private const string NamePrefix = "mosaic-git-";

    private ServiceGitDir(string path) => Path = path;

    public string Path { get; }

    /// <summary>The environment that points git at this folder instead of the cache.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["GIT_COMMON_DIR"] = Path };

    /// <param name="origin">When given, the remote "origin" with this URL (without credentials), for fetch and push.</param>
    public static ServiceGitDir Create(string cache, string? origin = null)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{NamePrefix}{System.Environment.ProcessId}-{Guid.NewGuid():N}");
        var directory = Directory.CreateDirectory(path);
        try
        {
            if (OperatingSystem.IsLinux())
            {
                directory.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            }

            foreach (var name in Shared)
            {
                File.CreateSymbolicLink(System.IO.Path.Combine(path, name), System.IO.Path.Combine(cache, name));
            }

            Directory.CreateDirectory(System.IO.Path.Combine(path, "info"));
            // Only so that git takes the folder for a repository; our calls name every revision they read.
            File.WriteAllText(System.IO.Path.Combine(path, "HEAD"), "ref: refs/heads/mosaic-no-head\n");
            File.WriteAllText(System.IO.Path.Combine(path, "config"), origin is null ? Config : Config + Origin(origin));
            return new ServiceGitDir(path);
        }
        catch
        {
            Directory.Delete(path, recursive: true);
            throw;
        }
    }

    /// <summary>The remote section of a cache's config: origin and its refspec.</summary>
    public static string Origin(string url)
    {
        var quoted = url.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        return $"""
            [remote "origin"]
            	url = "{quoted}"
            	fetch = +refs/heads/*:refs/remotes/origin/*

            """;
    }

    /// <summary>
    /// Deletes the git dirs that a process killed in the middle of a git call left in the temporary folder (a kill -9
    /// runs no Dispose): those of a process that no longer runs and untouched for <paramref name="olderThan"/>, so
    /// that another service sharing the folder never loses one in use. Names without a pid (before 2026-12-05) count
    /// as a dead process's. Like Dispose, it deletes links, never what they point to.
    /// </summary>
    public static void RemoveLeftovers(TimeSpan olderThan)
    {
        foreach (var path in Directory.EnumerateDirectories(System.IO.Path.GetTempPath(), NamePrefix + "*"))
        {
            var name = System.IO.Path.GetFileName(path.AsSpan())[NamePrefix.Length..];
            var dash = name.IndexOf('-');
            var owner = dash > 0 && int.TryParse(name[..dash], out var pid) ? pid : (int?)null;
            if (owner is { } running && ProcessTable.IsAlive(running) || DateTime.UtcNow - Directory.GetLastWriteTimeUtc(path) < olderThan)
            {
                continue;
            }

            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another user's, or going away meanwhile: not ours to insist on.
            }
        }
    }

    /// <summary>Deletes the folder and its links, never what they point to.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover in the temporary folder is harmless; the commit's outcome must not depend on it.
        }
    }
}
