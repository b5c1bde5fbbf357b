using Mosaic.Orchestrator.Runtimes;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>An attempt whose runtime cannot run here fails before any workspace work.</summary>
public sealed class RuntimeCheckStep(IAgentRuntime runtime) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken) =>
        await runtime.CheckAsync(cancellationToken) is { } problem
            ? throw new AttemptFailedException(FailureReason.RuntimeUnavailable, problem)
            : StepResult.Next;
}
