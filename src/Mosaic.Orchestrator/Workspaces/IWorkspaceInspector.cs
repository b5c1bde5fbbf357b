using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>What the agent's branch holds, read from the repository cache (never through the agent's worktree files).</summary>
public interface IWorkspaceInspector
{
    /// <summary>A file as it is at the agent's base commit; null when it does not exist there. The agent cannot change this.</summary>
    Task<string?> ReadAtBaseAsync(AgentRecord agent, string path, CancellationToken cancellationToken);

    /// <summary>
    /// The repository holding the agent's commits, for readers that run git themselves (the secret scanner): the
    /// cache's objects and refs, never the worktree, whose .git file is the agent's to edit, and a config of the
    /// service's own instead of the cache's, which agents can write (see <see cref="ServiceGitDir"/>). Dispose it after.
    /// </summary>
    ServiceGitDir OpenRepository(AgentRecord agent);

    /// <summary>The files the branch changes against its base, and git's --stat summary of it.</summary>
    Task<ChangeSummary> DescribeChangesAsync(AgentRecord agent, CancellationToken cancellationToken);

    /// <summary>
    /// The unified diff of base..head as recorded (not the branch ref, which the agent can move), read through a git dir
    /// of the service's own; at most <paramref name="maxBytes"/> of it, cut at a line end when longer.
    /// </summary>
    Task<BoundedDiff> DiffAsync(AgentRecord agent, int maxBytes, CancellationToken cancellationToken);
}

/// <summary>A diff's text (UTF-8, at most the bound asked for) and whether the rest was left out.</summary>
public sealed record BoundedDiff(string Text, bool Truncated);

public sealed record ChangeSummary(IReadOnlyList<string> Files, string Stat);
