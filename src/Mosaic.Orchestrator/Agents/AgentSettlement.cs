using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// How an attempt ends in the record: completed, failed, or back in the queue for another attempt. Every write
/// is fenced by the attempt's lease token, so a worker that lost its lease cannot overwrite the new holder.
/// </summary>
public sealed class AgentSettlement(AgentTransitions transitions, BackoffPolicy backoff, TimeProvider time)
{
    public Task<AgentRecord> CompleteAsync(Guid agentId, string leaseToken, int? exitCode, CancellationToken cancellationToken) =>
        transitions.ChangeAsync(agentId, a => a with
        {
            Status = AgentStatus.Completed,
            TaskState = TaskState.Completed,
            CompletedAt = time.GetUtcNow(),
            ExitCode = exitCode,
            Lease = null,
            Reason = null,
            Error = null,
        }, cancellationToken, leaseToken);

    public Task<AgentRecord> FailAsync(Guid agentId, string leaseToken, string reason, string error, int? exitCode, CancellationToken cancellationToken) =>
        transitions.ChangeAsync(agentId, a => Failed(a, reason, error) with { ExitCode = exitCode ?? a.ExitCode }, cancellationToken, leaseToken);

    /// <summary>
    /// A transient failure: queue another attempt after the backoff while the agent keeps its status, or fail with
    /// reason attempts-exhausted. <paramref name="chargeAttempt"/> false gives the attempt back (our own shutdown).
    /// </summary>
    public async Task<AgentRecord> RetryOrFailAsync(
        Guid agentId,
        string leaseToken,
        string reason,
        string error,
        CancellationToken cancellationToken,
        bool chargeAttempt = true,
        DateTimeOffset? leaseExpiredBefore = null)
    {
        var now = time.GetUtcNow();
        return await transitions.ChangeAsync(agentId, a =>
        {
            if (chargeAttempt && a.Attempt >= a.MaxAttempts)
            {
                return Failed(a, "attempts-exhausted", $"{error} (reason {reason}; gave up after {a.Attempt} attempts)");
            }

            return a with
            {
                TaskState = TaskState.Pending,
                Lease = null,
                Process = null,
                Attempt = chargeAttempt ? a.Attempt : Math.Max(0, a.Attempt - 1),
                NextAttemptAt = chargeAttempt ? now + backoff.DelayAfter(a.Attempt) : null,
                Reason = reason,
                Error = error,
            };
        }, cancellationToken, leaseToken,
        eventData: a => a.IsLive ? new { attempt = a.Attempt, nextAttemptAt = a.NextAttemptAt, reason, error } : new { reason = a.Reason, error = a.Error, attempt = a.Attempt },
        leaseExpiredBefore: leaseExpiredBefore,
        eventType: AgentEventTypes.Retrying);
    }

    private AgentRecord Failed(AgentRecord agent, string reason, string error) => agent with
    {
        Status = AgentStatus.Failed,
        TaskState = TaskState.Failed,
        CompletedAt = time.GetUtcNow(),
        Lease = null,
        NextAttemptAt = null,
        Reason = reason,
        Error = error,
    };
}
