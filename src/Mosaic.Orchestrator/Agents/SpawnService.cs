using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Agents;

/// <summary>A validated spawn request.</summary>
public sealed record SpawnCommand(string TaskId, AgentType AgentType, GateProfile? GateProfile, int Priority, AgentContext Context, IReadOnlyList<string>? Gates = null);

/// <summary>
/// The data of agent.spawned (resumedFrom only for a resumed agent). A named type, so its JSON comes from the
/// source-generated metadata (<see cref="OrchestratorJsonContext"/>), written once per spawned agent, up to 1,000 a batch.
/// </summary>
internal sealed record SpawnedEventData(AgentType AgentType, int Priority, GateProfile GateProfile, Guid? ResumedFrom);

/// <summary>Creates the agent record and queues its task in one store step, then publishes agent.spawned and wakes the worker.</summary>
public sealed partial class SpawnService(ITaskQueue queue, AgentEvents events, QueueSignal signal, IOptions<OrchestratorOptions> options, TimeProvider time, ILogger<SpawnService> logger)
{
    public static GateProfile DefaultProfile(AgentType type) => type switch
    {
        AgentType.Reviewer => GateProfile.Strict,
        AgentType.Tester => GateProfile.Minimal,
        _ => GateProfile.Standard,
    };

    public Task<EnqueueResult> SpawnAsync(SpawnCommand command, string actor, CancellationToken cancellationToken) =>
        EnqueueAsync(NewAgent(command, actor), actor, cancellationToken);

    /// <summary>
    /// A new agent per command, stored in order in one store step where the backend can (the embedded store: one
    /// transaction); each has its own result, as if spawned one after the other.
    /// </summary>
    public async Task<IReadOnlyList<EnqueueResult>> SpawnManyAsync(IReadOnlyList<SpawnCommand> commands, string actor, CancellationToken cancellationToken)
    {
        var entries = commands.Select(command =>
        {
            var agent = NewAgent(command, actor);
            return (agent, Spawned(agent));
        }).ToList();
        var results = await queue.EnqueueManyAsync(entries, options.Value.MaxQueuedTasks, cancellationToken);
        foreach (var result in results.Where(r => r.Outcome == EnqueueOutcome.Enqueued))
        {
            LogSpawned(logger, result.Agent!.AgentId, result.Agent.TaskId, result.Agent.AgentType, result.Agent.Priority, actor);
        }

        if (results.Any(r => r.Outcome == EnqueueOutcome.Enqueued))
        {
            signal.Notify();
        }

        return results;
    }

    /// <summary>
    /// A new agent for the task of <paramref name="earlier"/> (failed or killed, with its work on a WIP branch), which
    /// starts from that work and, where the runtime can, from its conversation.
    /// </summary>
    public Task<EnqueueResult> ResumeAsync(AgentRecord earlier, string? instructions, string actor, CancellationToken cancellationToken)
    {
        var command = new SpawnCommand(earlier.TaskId, earlier.AgentType, earlier.GateProfile, earlier.Priority, earlier.Context, earlier.CustomGates);
        var agent = NewAgent(command, actor) with
        {
            ResumedFrom = earlier.AgentId,
            Resume = new ResumePoint(earlier.AgentId, earlier.WipBranch!, earlier.WipCommit!, earlier.BaseCommit!, earlier.AgentSessionId,
                earlier.Reason, earlier.Error, instructions),
        };
        return EnqueueAsync(agent, actor, cancellationToken);
    }

    private AgentRecord NewAgent(SpawnCommand command, string actor) => new()
    {
        // Version 7: time-ordered, so new ids land at the end of the id index instead of a random page.
        AgentId = Guid.CreateVersion7(time.GetUtcNow()),
        TaskId = command.TaskId,
        AgentType = command.AgentType,
        GateProfile = command.GateProfile ?? DefaultProfile(command.AgentType),
        CustomGates = command.Gates,
        Priority = command.Priority,
        Context = command.Context,
        Status = AgentLifecycle.FirstStatus,
        TaskState = AgentLifecycle.FirstTaskState,
        SpawnedAt = time.GetUtcNow(),
        MaxAttempts = options.Value.TaskMaxAttempts,
        SpawnedBy = actor,
    };

    private async Task<EnqueueResult> EnqueueAsync(AgentRecord agent, string actor, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var result = await queue.EnqueueAsync(agent, settings.MaxQueuedTasks, Spawned(agent), cancellationToken);
        if (result.Outcome == EnqueueOutcome.Enqueued)
        {
            LogSpawned(logger, agent.AgentId, agent.TaskId, agent.AgentType, agent.Priority, actor);
            signal.Notify();
        }

        return result;
    }

    private AgentEvent Spawned(AgentRecord agent) =>
        events.Create(AgentEventTypes.Spawned, agent, new SpawnedEventData(agent.AgentType, agent.Priority, agent.GateProfile, agent.ResumedFrom));

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} (task {TaskId}) spawned: {AgentType}, priority {Priority}, by {Actor}")]
    private static partial void LogSpawned(ILogger logger, Guid agentId, string taskId, AgentType agentType, int priority, string actor);
}
