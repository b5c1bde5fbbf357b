using System.Collections.Frozen;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// The one table of allowed status moves, and every transition with the task state it implies. Anything not listed is
/// refused with <see cref="IllegalTransitionException"/>.
/// </summary>
public static class AgentLifecycle
{
    private static readonly FrozenDictionary<AgentStatus, AgentStatus[]> Allowed = new Dictionary<AgentStatus, AgentStatus[]>
    {
        [AgentStatus.Spawning] = [AgentStatus.Running, AgentStatus.Failed, AgentStatus.Killed],
        [AgentStatus.Running] = [AgentStatus.Completed, AgentStatus.Failed, AgentStatus.Killed],
        [AgentStatus.Completed] = [],
        [AgentStatus.Failed] = [],
        [AgentStatus.Killed] = [],
    }.ToFrozenDictionary();

    public static bool IsTerminal(AgentStatus status) => Allowed[status].Length == 0;

    public static bool CanMove(AgentStatus from, AgentStatus to) => Array.IndexOf(Allowed[from], to) >= 0;

    public static void EnsureCanMove(Guid agentId, AgentStatus from, AgentStatus to)
    {
        if (!CanMove(from, to))
        {
            throw new IllegalTransitionException(agentId, from, to);
        }
    }

    /// <summary>The event published when an agent enters <paramref name="status"/>.</summary>
    public static string EventTypeFor(AgentStatus status) => status switch
    {
        AgentStatus.Spawning => AgentEventTypes.Spawned,
        AgentStatus.Running => AgentEventTypes.Running,
        AgentStatus.Completed => AgentEventTypes.Completed,
        AgentStatus.Failed => AgentEventTypes.Failed,
        AgentStatus.Killed => AgentEventTypes.Killed,
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>A new agent is spawning, its task pending in the queue.</summary>
    public const AgentStatus FirstStatus = AgentStatus.Spawning;

    public const TaskState FirstTaskState = TaskState.Pending;

    /// <summary>A worker leased the task: assigned to it, one more attempt started (the Valkey lease script does the same in Lua).</summary>
    public static AgentRecord Leased(AgentRecord agent, TaskLease lease) =>
        agent with { TaskState = TaskState.Assigned, Lease = lease, Attempt = agent.Attempt + 1, NextAttemptAt = null };

    /// <summary>An attempt has its workspace: running, its task executing, on this node; what an earlier attempt produced is cleared.</summary>
    public static AgentRecord Started(AgentRecord agent, Workspace workspace, string node, DateTimeOffset now) => agent with
    {
        Status = AgentStatus.Running,
        TaskState = TaskState.Executing,
        StartedAt = agent.StartedAt ?? now,
        Node = node,
        Workspace = workspace.Path,
        Branch = workspace.Branch,
        BaseCommit = workspace.BaseCommit,
        HeadCommit = null,
        Pushed = false,
        Conflicts = null,
        Gates = null,
        AttemptCostUsd = null,
    };

    public static AgentRecord Completed(AgentRecord agent, int? exitCode, DateTimeOffset now) => agent with
    {
        Status = AgentStatus.Completed,
        TaskState = TaskState.Completed,
        CompletedAt = now,
        ExitCode = exitCode,
        Lease = null,
        Reason = null,
        Error = null,
    };

    public static AgentRecord Failed(AgentRecord agent, Failure failure, int? exitCode, DateTimeOffset now) => agent with
    {
        Status = AgentStatus.Failed,
        TaskState = TaskState.Failed,
        CompletedAt = now,
        ExitCode = exitCode ?? agent.ExitCode,
        Lease = null,
        NextAttemptAt = null,
        Reason = failure.Code,
        Error = failure.Message,
    };

    /// <summary>
    /// A transient failure: back to the queue after the backoff while the agent keeps its status, or failed with
    /// attempts-exhausted once its attempts are spent. <paramref name="chargeAttempt"/> false gives the attempt back
    /// (our own shutdown): due at once, or at <paramref name="dueAt"/> (a rate limit's reset).
    /// </summary>
    public static AgentRecord Requeued(AgentRecord agent, Failure failure, bool chargeAttempt, BackoffPolicy backoff, DateTimeOffset now, DateTimeOffset? dueAt = null) =>
        chargeAttempt && agent.Attempt >= agent.MaxAttempts
            ? Failed(agent, new Failure(FailureReason.AttemptsExhausted, $"{failure.Message} (reason {failure.Code}; gave up after {agent.Attempt} attempts)"), null, now)
            : agent with
            {
                TaskState = TaskState.Pending,
                Lease = null,
                Process = null,
                Attempt = chargeAttempt ? agent.Attempt : Math.Max(0, agent.Attempt - 1),
                NextAttemptAt = dueAt ?? (chargeAttempt ? now + backoff.DelayAfter(agent.Attempt) : null),
                Reason = failure.Code,
                Error = failure.Message,
            };

    public static AgentRecord Killed(AgentRecord agent, string actor, string? reason, DateTimeOffset now) => agent with
    {
        Status = AgentStatus.Killed,
        TaskState = TaskState.Failed,
        CompletedAt = now,
        Lease = null,
        NextAttemptAt = null,
        Reason = FailureReason.Killed.Code,
        Error = reason is null ? $"killed by {actor}" : $"killed by {actor}: {reason}",
    };
}

public static class AgentEventTypes
{
    public const string Spawned = "agent.spawned";
    public const string Running = "agent.running";
    public const string Retrying = "agent.retrying";
    public const string Completed = "agent.completed";
    public const string Failed = "agent.failed";
    public const string Killed = "agent.killed";
    public const string Cleanup = "agent.cleanup";

    /// <summary>A gate's verdict; no state change goes with it.</summary>
    public const string Gate = "agent.gate";

    /// <summary>Where the work of an attempt that ended badly was kept, or why it was not.</summary>
    public const string Wip = "agent.wip";

    /// <summary>Throttled news from a running agent (messages, tool calls); no state change goes with it.</summary>
    public const string Progress = "agent.progress";
}

/// <summary>A move the lifecycle table does not allow (maps to 409).</summary>
public sealed class IllegalTransitionException(Guid agentId, AgentStatus from, AgentStatus to)
    : InvalidOperationException($"Agent {agentId} cannot move from {Lower(from)} to {Lower(to)}")
{
    public Guid AgentId { get; } = agentId;
    public AgentStatus From { get; } = from;
    public AgentStatus To { get; } = to;

    private static string Lower(AgentStatus s) => s.ToString().ToLowerInvariant();
}

/// <summary>The writer's lease was taken over (expired and recovered, or the task was requeued): its write is refused.</summary>
public sealed class LeaseLostException(Guid agentId)
    : InvalidOperationException($"Agent {agentId}: this worker no longer holds the task's lease")
{
    public Guid AgentId { get; } = agentId;
}

public sealed class AgentNotFoundException(Guid agentId) : InvalidOperationException($"Agent {agentId} not found")
{
    public Guid AgentId { get; } = agentId;
}
