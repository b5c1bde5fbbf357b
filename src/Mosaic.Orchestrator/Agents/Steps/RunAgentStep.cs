using Mosaic.Orchestrator.Runtimes;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>
/// The agent runs in its workspace with the attempt's prompt (the task, or a fix); what the run reported is kept. A fix
/// run continues the session of the agent's run before it, so the agent keeps its context; a resumed agent's first
/// run continues the session of the agent it resumes.
/// </summary>
public sealed class RunAgentStep(IAgentRuntime runtime) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        // A fix run goes on with the run before it; the first run of a resumed agent with the conversation it resumes.
        var continued = attempt.Round > 0 ? attempt.Agent.AgentSessionId : attempt.Agent.Resume?.SessionId;
        var result = await runtime.RunAsync(attempt.RunContext(attempt.Prompt, attempt.Agent.AgentType, continued), cancellationToken);
        attempt.ExitCode = result.ExitCode;
        if (result.Report is { } report)
        {
            await attempt.RecordRunAsync(report, agentsOwn: true);
        }

        return result.Failure is { } failure ? throw new AttemptFailedException(failure.Reason, failure.Message, failure.RetryAt) : StepResult.Next;
    }
}
