using System.Collections.Frozen;

namespace Mosaic.Orchestrator.Agents;

/// <summary>The one table of allowed status moves. Anything not listed is refused with <see cref="IllegalTransitionException"/>.</summary>
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
