using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Events;

/// <summary>
/// Makes and publishes lifecycle events. An event that goes with a state change is stored by the store in the
/// same atomic write as the change and only then broadcast; an event without one is appended, then broadcast.
/// </summary>
public sealed class AgentEvents(IEventHistory history, EventBroadcaster broadcaster, TimeProvider time)
{
    public AgentEvent Create(string type, AgentRecord agent, object? data) =>
        new(type, agent.AgentId, agent.TaskId, time.GetUtcNow(),
            data is null ? null : JsonSerializer.SerializeToElement(data, OrchestratorJson.Options));

    /// <summary>Broadcasts an event the store has already persisted.</summary>
    public void Broadcast(AgentEvent stored) => broadcaster.Publish(stored);

    public async Task<AgentEvent> PublishAsync(string type, AgentRecord agent, object? data, CancellationToken cancellationToken)
    {
        var stored = await history.AppendAsync(Create(type, agent, data), cancellationToken);
        broadcaster.Publish(stored);
        return stored;
    }
}
