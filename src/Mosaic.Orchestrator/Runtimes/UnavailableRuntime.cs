namespace Mosaic.Orchestrator.Runtimes;

/// <summary>
/// Stands for a runtime this build cannot run (claude-code until its runtime lands): readiness reports it, and a
/// spawned agent fails at once with reason runtime-unavailable instead of waiting in the queue for nothing.
/// </summary>
public sealed class UnavailableRuntime(string name, string problem) : IAgentRuntime
{
    public string Name => name;

    public Task<string?> CheckAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(problem);

    public Task<RuntimeResult> RunAsync(AgentRunContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new RuntimeResult(RunOutcome.Failed, null, "runtime-unavailable", problem));
}
