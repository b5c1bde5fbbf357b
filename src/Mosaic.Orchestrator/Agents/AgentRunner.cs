using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Gates;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Runs one leased attempt of one agent: workspace, runtime, then the record's end. The path reads straight down;
/// later stages (commit, secret scan, gates, push) slot in between the runtime and the end.
/// At this point the task may have run before (delivery is at least once); a retry starts from a fresh workspace.
/// </summary>
public sealed partial class AgentRunner(
    IWorkspaceProvider workspaces,
    IAgentRuntime runtime,
    IAgentStore store,
    AgentTransitions transitions,
    AgentSettlement settlement,
    AgentCleanup cleanup,
    ITaskQueue queue,
    NodeIdentity node,
    PromptTemplates prompts,
    QualityGates gates,
    ISecretScanner secrets,
    IWorkspaceInspector inspector,
    AuditTrail audit,
    IOptions<OrchestratorOptions> options,
    TimeProvider time,
    ILogger<AgentRunner> logger)
{
    public async Task RunAsync(AgentRecord leased, ActiveRun run)
    {
        var settings = options.Value;
        var token = leased.Lease!.Token;
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["AgentId"] = leased.AgentId, ["TaskId"] = leased.TaskId });
        using var timeout = time.CreateTimer(static r => ((ActiveRun)r!).Stop(StopReason.Timeout), run,
            TimeSpan.FromMinutes(settings.AgentTimeoutMinutes), Timeout.InfiniteTimeSpan);
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(run.Token);
        var heartbeat = HeartbeatAsync(leased.AgentId, token, run, heartbeatStop.Token);

        RuntimeResult? result = null;
        Exception? crash = null;
        try
        {
            result = await ExecuteAsync(leased, token, run);
        }
        catch (OperationCanceledException) when (run.Reason is not null)
        {
            // Stopped from outside; the reason decides the end below.
        }
        catch (IllegalTransitionException)
        {
            run.Stop(StopReason.Killed); // the record reached an end while we worked: a kill
        }
        catch (LeaseLostException)
        {
            run.Stop(StopReason.LeaseLost);
        }
        catch (GitException ex)
        {
            result = new RuntimeResult(ex.Transient ? RunOutcome.TransientFailure : RunOutcome.Failed, null, ex.Reason, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The boundary of an attempt: whatever broke is logged here once and ends the attempt as a failure.
            crash = ex;
            LogAttemptCrashed(logger, ex, leased.AgentId);
        }
        finally
        {
            await heartbeatStop.CancelAsync();
            await heartbeat;
        }

        try
        {
            var ended = await SettleAsync(leased, token, run.Reason, result, crash)
                ?? await store.GetAsync(leased.AgentId, CancellationToken.None) ?? leased;
            // Another holder may own a requeued task now; its workspace is then not ours to remove.
            if (!ended.IsLive || ended.Lease is null)
            {
                // A normal end has already ended its tree; after a kill or a crash, look again by marker.
                var lookAgain = run.Reason is StopReason.Killed || crash is not null;
                await cleanup.RunAsync(ended, endProcesses: lookAgain, publish: !ended.IsLive, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            // The store failed while writing the end: the lease expires and recovery settles the task.
            LogSettleFailed(logger, ex, leased.AgentId);
        }
    }

    private async Task<RuntimeResult> ExecuteAsync(AgentRecord leased, string token, ActiveRun run)
    {
        if (await runtime.CheckAsync(run.Token) is { } problem)
        {
            return new RuntimeResult(RunOutcome.Failed, null, "runtime-unavailable", problem);
        }

        var workspace = await workspaces.PrepareAsync(leased, run.Token);
        var agent = await transitions.ChangeAsync(leased.AgentId, a => a with
        {
            Status = AgentStatus.Running,
            TaskState = TaskState.Executing,
            StartedAt = a.StartedAt ?? time.GetUtcNow(),
            Workspace = workspace.Path,
            Branch = workspace.Branch,
            BaseCommit = workspace.BaseCommit,
            HeadCommit = null,
            Pushed = false,
            Conflicts = null,
            Gates = null,
        }, run.Token, token);

        var result = await RunAgentAsync(agent, token, prompts.Render(agent), agent.AgentType, run.Token);
        return result.Outcome == RunOutcome.Succeeded ? await DeliverAsync(agent, result, token, run.Token) : result;
    }

    /// <summary>One run of the runtime in the agent's workspace (the task, a fix after a gate, or the AI review).</summary>
    private async Task<RuntimeResult> RunAgentAsync(AgentRecord agent, string token, string prompt, AgentType asType, CancellationToken cancellationToken)
    {
        var agentDirectory = Path.Combine(options.Value.FullDataDir, "agents", agent.AgentId.ToString());
        var context = new AgentRunContext(agent with { AgentType = asType }, agent.Workspace!, agentDirectory, prompt,
            started => transitions.ChangeAsync(agent.AgentId, a => a with
            {
                Process = new AgentProcess(started.Pid, started.StartTicks, node.Node),
            }, CancellationToken.None, token));
        var result = await runtime.RunAsync(context, cancellationToken);
        if (result.Report is { } report)
        {
            // Kept before anything else can fail: what the run cost is worth knowing however the attempt ends.
            await transitions.ChangeAsync(agent.AgentId, a => a with
            {
                Run = report,
                TotalCostUsd = report.CostUsd is { } cost ? (a.TotalCostUsd ?? 0) + cost : a.TotalCostUsd,
            }, CancellationToken.None, token);
        }

        return result;
    }

    /// <summary>
    /// The agent's work leaves as a branch: commit what it left, scan the commits for secrets, then the gates (a
    /// failing gate sends the agent back to fix it, GATE_FIX_ATTEMPTS times), then check the branch against the base
    /// as it is now, and push.
    /// </summary>
    private async Task<RuntimeResult> DeliverAsync(AgentRecord agent, RuntimeResult ran, string token, CancellationToken cancellationToken)
    {
        for (var round = 0; ; round++)
        {
            var commit = await workspaces.CommitAsync(agent, cancellationToken);
            agent = await transitions.ChangeAsync(agent.AgentId, a => a with { HeadCommit = commit.HeadCommit }, cancellationToken, token);
            if (!commit.Changed)
            {
                // A worker exists to change the code; a reviewer or tester may rightly find nothing to change.
                return agent.AgentType == AgentType.Worker
                    ? new RuntimeResult(RunOutcome.Failed, ran.ExitCode, "no-changes", "the agent finished without changing anything")
                    : ran;
            }

            // Secrets first: a leaked key is final (no fix run can take it out of history that would be pushed).
            var findings = await secrets.ScanCommitsAsync(inspector.RepositoryOf(agent), agent.BaseCommit!, commit.HeadCommit, cancellationToken);
            if (findings.Count > 0)
            {
                await transitions.ChangeAsync(agent.AgentId, a => a with { SecretFindings = [.. findings.Take(100)] }, cancellationToken, token);
                return new RuntimeResult(RunOutcome.Failed, ran.ExitCode, "secrets-detected",
                    $"{findings.Count} secret(s) in the agent's commits; nothing was pushed: " +
                    string.Join("; ", findings.Take(5).Select(f => $"{f.RuleId} in {f.File}:{f.Line} ({f.Preview})")));
            }

            var failure = await GateAsync(agent, round, token, cancellationToken);
            if (failure is null)
            {
                break;
            }

            var gate = failure.Result;
            if (failure.Transient)
            {
                return new RuntimeResult(RunOutcome.TransientFailure, ran.ExitCode, $"gate-unavailable:{gate.Gate}", $"the {gate.Gate} gate could not judge: {gate.Message}");
            }

            if (!failure.Fixable || round >= gates.FixAttempts)
            {
                var tries = round == 0 ? "" : $" after {round} fix run(s)";
                return new RuntimeResult(RunOutcome.Failed, ran.ExitCode, $"gate-failed:{gate.Gate}", $"the {gate.Gate} gate failed{tries}: {gate.Message}");
            }

            ran = await RunAgentAsync(agent, token, FixPrompt(prompts.Render(agent), gate), agent.AgentType, cancellationToken);
            if (ran.Outcome != RunOutcome.Succeeded)
            {
                return ran;
            }
        }

        var conflicts = await workspaces.CheckConflictsAsync(agent, cancellationToken);
        if (conflicts.Files.Count > 0)
        {
            await transitions.ChangeAsync(agent.AgentId, a => a with { Conflicts = conflicts.Files }, cancellationToken, token);
            return new RuntimeResult(RunOutcome.Failed, ran.ExitCode, "conflict",
                $"the branch conflicts with {agent.Context.Branch} at {conflicts.BaseCommit[..12]} in: {string.Join(", ", conflicts.Files.Take(20))}");
        }

        agent = await transitions.ChangeAsync(agent.AgentId, a => a with
        {
            PushedCommits = [.. (a.PushedCommits ?? []).Where(c => c != a.HeadCommit).TakeLast(31), a.HeadCommit!],
        }, cancellationToken, token);
        await workspaces.PushAsync(agent, cancellationToken);
        await transitions.ChangeAsync(agent.AgentId, a => a with { Pushed = true }, cancellationToken, token);
        return ran;
    }

    /// <summary>Pre-commit gates, then post-commit gates; null when all passed (or YOLO_MODE skipped them, audited).</summary>
    private async Task<GateFailure?> GateAsync(AgentRecord agent, int round, string token, CancellationToken cancellationToken)
    {
        if (gates.Skipped)
        {
            if (round == 0)
            {
                await gates.RecordSkippedAsync(agent, token, cancellationToken);
                await audit.RecordAsync(new AuditEntry("gates-skipped", "YOLO_MODE", agent.AgentId, agent.TaskId,
                    $"YOLO_MODE=true: gates {string.Join(", ", gates.GatesOf(agent))} not run", agent.Status.ToString().ToLowerInvariant(), time.GetUtcNow()), cancellationToken);
            }

            return null;
        }

        AgentRun review = (prompt, asType, ct) => RunAgentAsync(agent, token, prompt, asType, ct);
        return await gates.RunPhaseAsync(agent, GateCatalog.PreCommit, agent.Workspace!, round, token, review, cancellationToken)
            ?? await gates.RunPhaseAsync(agent, GateCatalog.PostCommit, agent.Workspace!, round, token, review, cancellationToken);
    }

    /// <summary>The task again (the agent must not "fix" a check by dropping the feature), then what the gate said.</summary>
    private static string FixPrompt(string task, GateResult gate)
    {
        var output = gate.OutputTail is null ? "" : "Its output ended with:\n```\n" + gate.OutputTail.TrimEnd() + "\n```\n";
        return task.TrimEnd() + "\n\n" +
            $"Your work on this task was committed, but the quality gate \"{gate.Gate}\" rejected it: {gate.Message}\n{output}" +
            "Fix the cause in this working directory (do not weaken, skip or delete the check, and keep the work items done) and commit your changes.\n";
    }

    /// <summary>Writes the end of the attempt; null when the record is no longer ours to write (lease lost).</summary>
    private async Task<AgentRecord?> SettleAsync(AgentRecord leased, string token, StopReason? stop, RuntimeResult? result, Exception? crash)
    {
        var id = leased.AgentId;
        var none = CancellationToken.None; // the end must be written even while the service shuts down
        try
        {
            return (stop, result) switch
            {
                (StopReason.Killed, _) => null,
                (StopReason.Shutdown, _) => await settlement.RetryOrFailAsync(id, token, "shutdown",
                    "the orchestrator shut down during this attempt", none, chargeAttempt: false),
                (StopReason.LeaseLost, _) => await settlement.RetryOrFailAsync(id, token, "lease-lost",
                    "the attempt lost its lease (heartbeat missed)", none),
                (StopReason.Timeout, _) => await settlement.FailAsync(id, token, "timeout",
                    $"the agent ran longer than AGENT_TIMEOUT_MINUTES ({options.Value.AgentTimeoutMinutes})", null, none),
                (_, { Outcome: RunOutcome.Succeeded } r) => await settlement.CompleteAsync(id, token, r.ExitCode, none),
                (_, { Outcome: RunOutcome.TransientFailure } r) => await settlement.RetryOrFailAsync(id, token, r.Reason!, r.Error!, none),
                (_, { } r) => await settlement.FailAsync(id, token, r.Reason ?? "runtime-failed", r.Error ?? "the agent failed", r.ExitCode, none),
                _ => await settlement.FailAsync(id, token, "internal-error", crash?.Message ?? "the attempt ended without a result", null, none),
            };
        }
        catch (Exception ex) when (ex is IllegalTransitionException or LeaseLostException)
        {
            return null; // killed or taken over meanwhile: whoever did that owns the record now
        }
    }

    /// <summary>
    /// Renews the lease every third of its duration. A run that cannot renew for two thirds of the lease stops by
    /// itself: cut off from the store, it cannot know whether another instance has taken the task over (which it may
    /// after the lease expires), so it must not go on to push.
    /// </summary>
    private async Task HeartbeatAsync(Guid agentId, string token, ActiveRun run, CancellationToken stop)
    {
        var lease = options.Value.LeaseDuration;
        var lastRenewed = time.GetTimestamp();
        using var timer = new PeriodicTimer(lease / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                bool renewed;
                try
                {
                    renewed = await queue.RenewLeaseAsync(agentId, token, time.GetUtcNow() + lease, stop);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogHeartbeatFailed(logger, ex, agentId);
                    if (time.GetElapsedTime(lastRenewed) >= lease * 2 / 3)
                    {
                        run.Stop(StopReason.LeaseLost);
                        return;
                    }

                    continue; // the store may be back before the lease runs out
                }

                if (!renewed)
                {
                    run.Stop(StopReason.LeaseLost);
                    return;
                }

                lastRenewed = time.GetTimestamp();
            }
        }
        catch (OperationCanceledException)
        {
            // The attempt ended.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Attempt of agent {AgentId} crashed")]
    private static partial void LogAttemptCrashed(ILogger logger, Exception ex, Guid agentId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing the end of agent {AgentId}'s attempt failed; its lease will expire and be recovered")]
    private static partial void LogSettleFailed(ILogger logger, Exception ex, Guid agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease renewal of agent {AgentId} failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception ex, Guid agentId);
}
