using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>
/// Pushes the agent's branch, unless an emergency stop refuses every push. The commit is recorded as this agent's
/// before the push, so a later attempt may replace it on the remote (and nothing else) even when this one dies before
/// it can record the push.
/// </summary>
public sealed class PushStep(IWorkspaceProvider workspaces, IQueueAdmin queue) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        if (await queue.IsEmergencyStoppedAsync(cancellationToken))
        {
            throw new AttemptFailedException(FailureReason.EmergencyStop,
                "an emergency stop refuses every push until POST /agents/queue/resume; the work is kept on the WIP branch");
        }

        var agent = await attempt.WriteAsync(a => a with
        {
            PushedCommits = [.. (a.PushedCommits ?? []).Where(c => c != a.HeadCommit).TakeLast(31), a.HeadCommit!],
        }, cancellationToken);
        await workspaces.PushAsync(agent, cancellationToken);
        await attempt.WriteAsync(a => a with { Pushed = true }, cancellationToken);
        return StepResult.Next;
    }
}
