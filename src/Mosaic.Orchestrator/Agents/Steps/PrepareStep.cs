using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>A fresh workspace from the latest base; then the agent is running, and its task prompt is written from the record.</summary>
public sealed class PrepareStep(IWorkspaceProvider workspaces, PromptTemplates prompts) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        var workspace = await workspaces.PrepareAsync(attempt.Agent, cancellationToken);
        var agent = await attempt.StartAsync(workspace);
        attempt.SetTask(prompts.Render(agent));
        return StepResult.Next;
    }
}
