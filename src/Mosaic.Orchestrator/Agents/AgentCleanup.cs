using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Best-effort cleanup after an agent ends: end any process still carrying its marker, remove its workspace,
/// publish agent.cleanup. A failing step is logged and the others still run.
/// </summary>
public sealed partial class AgentCleanup(
    IWorkspaceProvider workspaces,
    AgentEvents events,
    IOptions<OrchestratorOptions> options,
    IAgentProcesses processes,
    ILogger<AgentCleanup> logger)
{
    public Task<IReadOnlyList<int>> EndProcessesAsync(AgentRecord agent) =>
        processes.EndAsync(agent.AgentId, agent.Process?.Pid, agent.Process?.StartTicks);

    /// <summary>
    /// <paramref name="alreadyEnded"/>: processes the agent's run ended itself when it was stopped (a kill), reported in
    /// agent.cleanup with the ones this cleanup had to end.
    /// </summary>
    public async Task RunAsync(AgentRecord agent, bool endProcesses, bool publish, CancellationToken cancellationToken, IReadOnlyList<int>? alreadyEnded = null)
    {
        var errors = new List<string>();
        IReadOnlyList<int> signalled = alreadyEnded ?? [];
        if (endProcesses)
        {
            try
            {
                signalled = [.. signalled.Union(await EndProcessesAsync(agent))];
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add($"processes: {ex.Message}");
                LogCleanupStepFailed(logger, ex, agent.AgentId, "processes");
            }
        }

        var removed = false;
        try
        {
            removed = await workspaces.RemoveAsync(agent, cancellationToken);
            if (!agent.IsLive)
            {
                // The agent's private HOME and TMPDIR go; its prompt and logs stay for the operator.
                AgentFolder.For(options.Value.FullDataDir, agent.AgentId).RemoveScratch();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or GitException)
        {
            errors.Add($"workspace: {ex.Message}");
            LogCleanupStepFailed(logger, ex, agent.AgentId, "workspace");
        }

        if (publish)
        {
            await events.PublishAsync(AgentEventTypes.Cleanup, agent,
                new { status = agent.Status, workspaceRemoved = removed, processesSignalled = signalled.Count, errors }, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cleanup of agent {AgentId}: step {Step} failed")]
    private static partial void LogCleanupStepFailed(ILogger logger, Exception ex, Guid agentId, string step);
}
