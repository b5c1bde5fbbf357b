using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>A plain per-agent directory under DATA_DIR/workspaces, named like the git worktrees that will replace it.</summary>
public sealed class DirectoryWorkspaceProvider(IOptions<OrchestratorOptions> options) : IWorkspaceProvider
{
    public string Root { get; } = Path.Combine(options.Value.FullDataDir, "workspaces");

    public string PathFor(AgentRecord agent) => Path.Combine(Root, $"agent-{agent.AgentId}-{agent.TaskId}");

    public Task<string> PrepareAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var path = PathFor(agent);
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        Directory.CreateDirectory(path);
        return Task.FromResult(path);
    }

    public Task<bool> RemoveAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var path = PathFor(agent);
        if (!Directory.Exists(path))
        {
            return Task.FromResult(false);
        }

        Directory.Delete(path, recursive: true);
        return Task.FromResult(true);
    }

    public Task<int> ReconcileAsync(IReadOnlySet<Guid> liveAgents, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Root))
        {
            return Task.FromResult(0);
        }

        var removed = 0;
        foreach (var directory in Directory.EnumerateDirectories(Root, "agent-*"))
        {
            // agent-<36-char uuid>-<taskId>
            var name = Path.GetFileName(directory);
            if (name.Length > 42 && Guid.TryParse(name.AsSpan(6, 36), out var agentId) && !liveAgents.Contains(agentId))
            {
                Directory.Delete(directory, recursive: true);
                removed++;
            }
        }

        return Task.FromResult(removed);
    }
}
