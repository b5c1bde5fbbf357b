using Mosaic.Orchestrator.Runtimes;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>The agent runs in its workspace with the attempt's prompt (the task, or a fix); what the run reported is kept.</summary>
public sealed class RunAgentStep(IAgentRuntime runtime) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        var result = await runtime.RunAsync(attempt.RunContext(attempt.Prompt, attempt.Agent.AgentType), cancellationToken);
        attempt.ExitCode = result.ExitCode;
        if (result.Report is { } report)
        {
            await attempt.RecordRunAsync(report);
        }

        return result.Failure is { } failure ? throw new AttemptFailedException(failure.Reason, failure.Message) : StepResult.Next;
    }
}
