using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// The branches that keep an agent's work beyond its workspace: its WIP branch (the work of an attempt that ended badly)
/// and, once retention forgets the agent, everything git still holds of it.
/// </summary>
public interface IWipBranches
{
    /// <summary>
    /// Pushes <paramref name="commit"/> (the agent's work when an attempt ended badly) to its WIP branch, replacing only
    /// this agent's earlier WIP; returns the branch.
    /// </summary>
    Task<string> PushWipAsync(AgentRecord agent, string commit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the agent's WIP branch on origin (only while it still holds the agent's WIP commit) and the agent's
    /// branches in the repository cache. Its pushed work branch stays on origin: that was delivered.
    /// </summary>
    Task ForgetAsync(AgentRecord agent, CancellationToken cancellationToken);
}
