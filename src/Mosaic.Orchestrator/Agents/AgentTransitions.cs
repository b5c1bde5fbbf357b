using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// The only way agent records change after enqueue: read, check the lifecycle table, compare-and-set the record
/// together with its event, then broadcast the event. A lost race re-reads and re-checks, so a kill and a completion
/// that arrive together end with exactly one winner and the loser gets <see cref="IllegalTransitionException"/>.
/// </summary>
public sealed class AgentTransitions(IAgentStore store, AgentEvents events)
{
    private const int MaxRaces = 16;

    /// <summary>
    /// Applies <paramref name="change"/> to the current record. When <paramref name="leaseToken"/> is given, the
    /// write only happens while that lease still holds the task. A status change stores and publishes the event of
    /// the new status; <paramref name="eventType"/> names an event for a change that keeps the status (a retry).
    /// <paramref name="eventData"/> builds the event's data from the new record.
    /// </summary>
    public async Task<AgentRecord> ChangeAsync(
        Guid agentId,
        Func<AgentRecord, AgentRecord> change,
        CancellationToken cancellationToken,
        string? leaseToken = null,
        Func<AgentRecord, object?>? eventData = null,
        DateTimeOffset? leaseExpiredBefore = null,
        string? eventType = null)
    {
        for (var race = 0; race < MaxRaces; race++)
        {
            var current = await store.GetAsync(agentId, cancellationToken) ?? throw new AgentNotFoundException(agentId);
            if (leaseToken is not null && current.Lease?.Token != leaseToken)
            {
                if (!current.IsLive)
                {
                    // Finished meanwhile (killed, most often): the caller's move is now illegal, say so as such.
                    AgentLifecycle.EnsureCanMove(agentId, current.Status, change(current).Status);
                }

                throw new LeaseLostException(agentId);
            }

            var next = change(current);
            if (next.Status != current.Status)
            {
                AgentLifecycle.EnsureCanMove(agentId, current.Status, next.Status);
            }
            else if (!current.IsLive)
            {
                throw new IllegalTransitionException(agentId, current.Status, next.Status);
            }

            var type = next.Status != current.Status ? AgentLifecycle.EventTypeFor(next.Status) : eventType;
            var agentEvent = type is null ? null : events.Create(type, next, eventData is null ? DefaultEventData(next) : eventData(next));
            var stored = await store.TryReplaceAsync(next, current.Version, leaseExpiredBefore, agentEvent, cancellationToken);
            if (stored is null)
            {
                if (leaseExpiredBefore is not null)
                {
                    throw new LeaseLostException(agentId);
                }

                continue;
            }

            return stored.Agent;
        }

        throw new InvalidOperationException($"Agent {agentId}: too many concurrent writers");
    }

    private static object? DefaultEventData(AgentRecord agent) => agent.Status switch
    {
        AgentStatus.Running => new { attempt = agent.Attempt },
        AgentStatus.Completed => new { attempt = agent.Attempt, exitCode = agent.ExitCode },
        AgentStatus.Failed when agent.SecretFindings is { Count: > 0 } findings =>
            new { reason = agent.Reason, error = agent.Error, attempt = agent.Attempt, secretFindings = findings },
        AgentStatus.Failed or AgentStatus.Killed => new { reason = agent.Reason, error = agent.Error, attempt = agent.Attempt },
        _ => null,
    };
}
