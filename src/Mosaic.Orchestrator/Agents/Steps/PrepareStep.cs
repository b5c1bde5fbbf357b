using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>
/// A fresh workspace from the latest base (a resumed agent's from the work it resumes); then the agent is running,
/// and its task prompt is written from the record.
/// </summary>
public sealed class PrepareStep(IWorkspaceProvider workspaces, PromptTemplates prompts, IOptions<OrchestratorOptions> options) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        var workspace = await workspaces.PrepareAsync(attempt.Agent, cancellationToken);
        var agent = await attempt.StartAsync(workspace);
        var prompt = prompts.Render(agent);
        if (agent.Resume is { } resume)
        {
            // The conversations the earlier agent's runtime kept go with its work, so its session can be continued.
            CopySessions(AgentFolder.For(options.Value.FullDataDir, resume.AgentId), attempt.Folder);
            prompt = prompt.TrimEnd() + "\n\n" + ResumeNote(resume);
        }

        attempt.SetTask(prompt);
        return StepResult.Next;
    }

    /// <summary>What was done and why it stopped, so the agent continues instead of starting over.</summary>
    public static string ResumeNote(ResumePoint resume)
    {
        var why = resume.Reason is null ? "" : $": {resume.Reason}{(resume.Error is null ? "" : $" ({resume.Error})")}";
        var instructions = string.IsNullOrWhiteSpace(resume.Instructions) ? "" : $"\nFrom the operator: {resume.Instructions.Trim()}\n";
        return $"This task was started by an earlier agent ({resume.AgentId}), which stopped{why}. Its work so far is committed " +
            $"on this branch (`git log {resume.BaseCommit[..Math.Min(12, resume.BaseCommit.Length)]}..HEAD` shows it). Continue from where it stopped; " +
            "do not start over.\n" + instructions;
    }

    private static void CopySessions(AgentFolder from, AgentFolder to)
    {
        if (!Directory.Exists(from.Sessions))
        {
            return;
        }

        Directory.CreateDirectory(to.Sessions);
        foreach (var file in new DirectoryInfo(from.Sessions).EnumerateFiles().Where(f => f.LinkTarget is null))
        {
            file.CopyTo(Path.Combine(to.Sessions, file.Name), overwrite: true);
        }
    }
}
