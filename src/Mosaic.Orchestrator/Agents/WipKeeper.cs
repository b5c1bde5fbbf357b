using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Work never lost: when an attempt ends badly (a kill, a timeout, a turn or budget limit, a stall, a gate it could not
/// fix, a conflict, a refused push, our shutdown) and changed something, what the agent left is committed and pushed
/// to its WIP branch (WIP_BRANCH_TEMPLATE), after the same secret scan as its real branch: a WIP with a finding is not
/// pushed, and the record says why. It runs once the attempt's processes have ended and before its workspace is
/// removed, and never keeps the attempt's end from being written.
/// </summary>
public sealed partial class WipKeeper(
    IWorkspaceProvider workspaces,
    IWipBranches wips,
    IWorkspaceInspector inspector,
    ISecretScanner secrets,
    IOptions<OrchestratorOptions> options,
    ILogger<WipKeeper> logger)
{
    public async Task KeepAsync(LeasedAttempt attempt)
    {
        var agent = attempt.Agent;
        if (!options.Value.WipOnAbnormalEnd || !attempt.Started || agent.BaseCommit is null || agent.Workspace is null || !Directory.Exists(agent.Workspace))
        {
            return;
        }

        // The attempt may have been stopped (a kill, a shutdown): its token is cancelled, and each git call has its own limit.
        var none = CancellationToken.None;
        try
        {
            var commit = await workspaces.CommitAsync(agent, none);
            if (!commit.Changed)
            {
                return;
            }

            IReadOnlyList<SecretFinding> findings;
            using (var repository = inspector.OpenRepository(agent))
            {
                findings = await secrets.ScanCommitsAsync(repository.Path, agent.BaseCommit, commit.HeadCommit, none);
            }

            if (findings.Count > 0)
            {
                await attempt.RecordWipAsync(null, null, $"{FailureReason.SecretsDetected.Code}: {findings.Count} secret(s) in the work; it was not pushed: " +
                    SecretReports.Summary(findings));
                return;
            }

            var branch = await wips.PushWipAsync(agent, commit.HeadCommit, none);
            await attempt.RecordWipAsync(branch, commit.HeadCommit, null);
            LogKept(logger, agent.AgentId, agent.TaskId, branch, commit.HeadCommit);
        }
        catch (AttemptFailedException ex)
        {
            await NoteAsync(attempt, $"{ex.Reason.Code}: {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // The end of the attempt is written next whatever happened here; the log has the details.
            LogFailed(logger, ex, agent.AgentId);
            await NoteAsync(attempt, ex.Message);
        }
    }

    private async Task NoteAsync(LeasedAttempt attempt, string error)
    {
        try
        {
            await attempt.RecordWipAsync(null, null, error);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            LogFailed(logger, ex, attempt.AgentId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} (task {TaskId}): the attempt's work was kept on {Branch} at {Commit}")]
    private static partial void LogKept(ILogger logger, Guid agentId, string taskId, string branch, string commit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: keeping the attempt's work on a WIP branch failed")]
    private static partial void LogFailed(ILogger logger, Exception ex, Guid agentId);
}
