using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>
/// The agent's commits (base..head, read from the repository cache) are scanned before any gate: a leaked key is
/// final, since no fix run can take it out of the history that would be pushed.
/// </summary>
public sealed class SecretScanStep(ISecretScanner secrets, IWorkspaceInspector inspector) : IAttemptStep
{
    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        var agent = attempt.Agent;
        IReadOnlyList<SecretFinding> findings;
        using (var repository = inspector.OpenRepository(agent))
        {
            findings = await secrets.ScanCommitsAsync(repository.Path, agent.BaseCommit!, agent.HeadCommit!, cancellationToken);
        }

        if (findings.Count == 0)
        {
            return StepResult.Next;
        }

        await attempt.WriteAsync(a => a with { SecretFindings = [.. findings.Take(100)] }, cancellationToken);
        throw new AttemptFailedException(FailureReason.SecretsDetected,
            $"{findings.Count} secret(s) in the agent's commits; nothing was pushed: " +
            SecretReports.Summary(findings));
    }
}
