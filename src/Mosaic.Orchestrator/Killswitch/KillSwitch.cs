using System.Threading.Channels;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Killswitch;

public enum KillOutcome { Killed, NotFound, AlreadyTerminal }

public sealed record KillResult(KillOutcome Outcome, AgentRecord? Agent);

public sealed record KillError(Guid AgentId, string TaskId, string Error);

public sealed record KillAllReport(int Total, int Killed, int Failed, IReadOnlyList<KillError> Errors);

/// <summary>
/// Kill: mark the agent killed (compare-and-set, so a kill and a completion never both win), write the audit entry,
/// then stop its run. The answer does not wait for the process tree: a running attempt ends its tree (SIGTERM,
/// grace, SIGKILL) and cleans up; an agent with no run here is cleaned up by <see cref="CleanupWorker"/>.
/// </summary>
public sealed class KillSwitch(
    IAgentStore store,
    AgentTransitions transitions,
    ActiveRuns runs,
    AuditTrail audit,
    ChannelWriter<AgentRecord> cleanupQueue,
    TimeProvider time)
{
    public async Task<KillResult> KillAsync(Guid agentId, string actor, string? reason, CancellationToken cancellationToken)
    {
        var agent = await store.GetAsync(agentId, cancellationToken);
        if (agent is null)
        {
            return new KillResult(KillOutcome.NotFound, null);
        }

        if (!agent.IsLive)
        {
            return new KillResult(KillOutcome.AlreadyTerminal, agent);
        }

        AgentRecord? prior = null;
        AgentRecord killed;
        try
        {
            killed = await transitions.ChangeAsync(agentId, a =>
            {
                prior = a;
                return a with
                {
                    Status = AgentStatus.Killed,
                    TaskState = TaskState.Failed,
                    CompletedAt = time.GetUtcNow(),
                    Lease = null,
                    NextAttemptAt = null,
                    Reason = "killed",
                    Error = reason is null ? $"killed by {actor}" : $"killed by {actor}: {reason}",
                };
            }, cancellationToken, eventData: _ => new { actor, reason, priorStatus = prior?.Status ?? agent.Status });
        }
        catch (IllegalTransitionException)
        {
            return new KillResult(KillOutcome.AlreadyTerminal, await store.GetAsync(agentId, cancellationToken));
        }

        // The agent is killed now: what follows must happen even if the caller goes away.
        var priorStatus = (prior ?? agent).Status.ToString().ToLowerInvariant();
        if (!runs.TryStop(agentId, StopReason.Killed))
        {
            await cleanupQueue.WriteAsync(killed, CancellationToken.None);
        }

        await audit.RecordAsync(new AuditEntry("kill", actor, agentId, agent.TaskId, reason, priorStatus, time.GetUtcNow()), CancellationToken.None);

        return new KillResult(KillOutcome.Killed, killed);
    }

    /// <summary>Kills every live agent. Once begun it finishes, even if the caller goes away.</summary>
    public async Task<KillAllReport> KillAllAsync(string actor, string? reason, CancellationToken cancellationToken)
    {
        var live = await store.ListLiveAsync(cancellationToken);
        cancellationToken = CancellationToken.None;
        var killedCount = 0;
        var errors = new List<KillError>();
        foreach (var agent in live)
        {
            try
            {
                var result = await KillAsync(agent.AgentId, actor, reason ?? "kill-all", cancellationToken);
                if (result.Outcome == KillOutcome.Killed)
                {
                    killedCount++;
                }
                else
                {
                    var status = result.Agent?.Status.ToString().ToLowerInvariant() ?? "gone";
                    errors.Add(new KillError(agent.AgentId, agent.TaskId, $"agent ended before the kill reached it ({status})"));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException)
            {
                errors.Add(new KillError(agent.AgentId, agent.TaskId, ex.Message));
            }
        }

        return new KillAllReport(live.Count, killedCount, errors.Count, errors);
    }
}
