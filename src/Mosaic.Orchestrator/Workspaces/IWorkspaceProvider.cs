using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// Where an agent works and how its work leaves: prepare a workspace from the latest base, commit what the agent
/// left, check for conflicts with the base as it is now, push the branch. Removal works from the record alone, so a
/// restarted node can clean up what a dead one left. Failures are <see cref="GitException"/>s that say whether a
/// retry can help.
/// </summary>
public interface IWorkspaceProvider
{
    /// <summary>Fetches the base and creates a fresh workspace on a new branch (whatever an earlier attempt left is discarded).</summary>
    Task<Workspace> PrepareAsync(AgentRecord agent, CancellationToken cancellationToken);

    /// <summary>Commits whatever the agent left uncommitted, keeping its own commits; says whether anything changed since the base.</summary>
    Task<CommitOutcome> CommitAsync(AgentRecord agent, CancellationToken cancellationToken);

    /// <summary>Fetches the base again and reports the files on which the branch conflicts with it, touching no worktree.</summary>
    Task<ConflictCheck> CheckConflictsAsync(AgentRecord agent, CancellationToken cancellationToken);

    /// <summary>Pushes the agent's branch to the repository's origin.</summary>
    Task PushAsync(AgentRecord agent, CancellationToken cancellationToken);


    /// <summary>Removes the agent's workspace, keeping its branch; true when something was removed. Safe to call twice.</summary>
    Task<bool> RemoveAsync(AgentRecord agent, CancellationToken cancellationToken);

    /// <summary>
    /// At start: removes workspaces whose agent is not live (left by a crash or an interrupted cleanup), and the service's
    /// own git dirs that a killed process left. Returns how many workspaces went.
    /// </summary>
    Task<int> ReconcileAsync(IReadOnlySet<Guid> liveAgents, CancellationToken cancellationToken);
}
