using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Killswitch;

public enum KillOutcome { Killed, NotFound, AlreadyTerminal }

public sealed record KillResult(KillOutcome Outcome, AgentRecord? Agent);

public sealed record KillError(Guid AgentId, string TaskId, string Error);

public sealed record KillAllReport(int Total, int Killed, int Failed, IReadOnlyList<KillError> Errors);

/// <summary>
/// Kill: mark the agent killed (compare-and-set, so a kill and a completion never both win), stop its run through the
/// <see cref="IKillRelay"/> (here, or on the instance running it), then write the audit entry. The answer does not wait
/// for the process tree: a running attempt ends its tree (SIGTERM, grace, SIGKILL) and cleans up; an agent with no
/// live run is cleaned up by <see cref="CleanupWorker"/>.
/// </summary>
public sealed class KillSwitch(
    IAgentStore store,
    AgentTransitions transitions,
    IKillRelay relay,
    AuditTrail audit,
    TimeProvider time)
{
    /// <summary>Kills of a kill-all in flight at once: each may wait for another instance's answer.</summary>
    public const int KillAllParallelism = 16;

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
                return AgentLifecycle.Killed(a, actor, reason, time.GetUtcNow());
            }, cancellationToken, eventData: _ => new { actor, reason, priorStatus = prior?.Status ?? agent.Status });
        }
        catch (IllegalTransitionException)
        {
            return new KillResult(KillOutcome.AlreadyTerminal, await store.GetAsync(agentId, cancellationToken));
        }

        // The agent is killed now: what follows must happen even if the caller goes away.
        var priorStatus = (prior ?? agent).Status.ToString().ToLowerInvariant();
        await relay.StopRunAsync(killed, prior ?? agent, CancellationToken.None);

        await audit.RecordAsync(new AuditEntry("kill", actor, agentId, agent.TaskId, reason, priorStatus, time.GetUtcNow()), CancellationToken.None);

        return new KillResult(KillOutcome.Killed, killed);
    }

    /// <summary>Kills every live agent. Once begun it finishes, even if the caller goes away.</summary>
    public async Task<KillAllReport> KillAllAsync(string actor, string? reason, CancellationToken cancellationToken)
    {
        var live = await store.ListLiveAsync(cancellationToken);
        var outcomes = new KillError?[live.Count];
        // Kills run side by side (a kill may wait for the instance running the agent); errors keep the live order.
        await Parallel.ForAsync(0, live.Count, new ParallelOptions { MaxDegreeOfParallelism = KillAllParallelism }, async (i, _) =>
        {
            var agent = live[i];
            // One agent's failure (the store unreachable, say) is reported and the others still go.
            try
            {
                var result = await KillAsync(agent.AgentId, actor, reason ?? "kill-all", CancellationToken.None);
                if (result.Outcome != KillOutcome.Killed)
                {
                    var status = result.Agent?.Status.ToString().ToLowerInvariant() ?? "gone";
                    outcomes[i] = new KillError(agent.AgentId, agent.TaskId, $"agent ended before the kill reached it ({status})");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                outcomes[i] = new KillError(agent.AgentId, agent.TaskId, ex.Message);
            }
        });

        var errors = outcomes.OfType<KillError>().ToList();
        return new KillAllReport(live.Count, live.Count - errors.Count, errors.Count, errors);
    }
}
