using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>
/// Commits what the agent left (its own commits kept). A worker exists to change the code: unchanged, it fails. A
/// reviewer or tester may rightly find nothing to change: unchanged, it is done without a push.
/// </summary>
public sealed class CommitStep(IWorkspaceProvider workspaces) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        var commit = await workspaces.CommitAsync(attempt.Agent, cancellationToken);
        var agent = await attempt.WriteAsync(a => a with { HeadCommit = commit.HeadCommit }, cancellationToken);
        return (commit.Changed, agent.AgentType) switch
        {
            (true, _) => StepResult.Next,
            (false, AgentType.Worker) => throw new AttemptFailedException(FailureReason.NoChanges, "the agent finished without changing anything"),
            _ => StepResult.Done,
        };
    }
}
