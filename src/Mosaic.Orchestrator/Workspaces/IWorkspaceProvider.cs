using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>Where an agent works. Removal works from the record alone, so a restarted node can clean up what a dead one left.</summary>
public interface IWorkspaceProvider
{
    /// <summary>Creates a fresh workspace for this attempt (whatever an earlier attempt left is discarded) and returns its path.</summary>
    Task<string> PrepareAsync(AgentRecord agent, CancellationToken cancellationToken);

    /// <summary>Removes the agent's workspace; true when something was removed. Safe to call twice.</summary>
    Task<bool> RemoveAsync(AgentRecord agent, CancellationToken cancellationToken);

    /// <summary>At start: removes workspaces whose agent is not live (left by a crash or an interrupted cleanup). Returns how many.</summary>
    Task<int> ReconcileAsync(IReadOnlySet<Guid> liveAgents, CancellationToken cancellationToken);
}
