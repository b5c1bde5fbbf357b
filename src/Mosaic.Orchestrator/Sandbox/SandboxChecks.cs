using Microsoft.Extensions.Diagnostics.HealthChecks;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Agents.Steps;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>Readiness with the sandbox on: the engine answers and SANDBOX_IMAGE is there.</summary>
public sealed class SandboxReadiness(DockerEngine docker) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await docker.CheckAsync(cancellationToken) is { } problem
            ? HealthCheckResult.Unhealthy(problem)
            : HealthCheckResult.Healthy("the Docker engine answers and the sandbox image is there");
}

/// <summary>The first step of every attempt with the sandbox on: one that cannot be sandboxed fails, and never runs unsandboxed.</summary>
public sealed class SandboxCheckStep(DockerEngine docker) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken) =>
        await docker.CheckAsync(cancellationToken) is { } problem
            ? throw new AttemptFailedException(FailureReason.SandboxUnavailable, problem)
            : StepResult.Next;
}
