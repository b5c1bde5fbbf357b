using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>The branch against the base as it is now (fetched again), without touching any worktree; conflicts fail before any push.</summary>
public sealed class ConflictStep(IWorkspaceProvider workspaces) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        var agent = attempt.Agent;
        var conflicts = await workspaces.CheckConflictsAsync(agent, cancellationToken);
        if (conflicts.Files.Count == 0)
        {
            return StepResult.Next;
        }

        await attempt.WriteAsync(a => a with { Conflicts = conflicts.Files }, cancellationToken);
        throw new AttemptFailedException(FailureReason.Conflict,
            $"the branch conflicts with {agent.Context.Branch} at {conflicts.BaseCommit[..12]} in: {string.Join(", ", conflicts.Files.Take(20))}");
    }
}
