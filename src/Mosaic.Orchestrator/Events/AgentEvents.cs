using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Events;

/// <summary>Publishes lifecycle events: first into the durable history, then to live subscribers.</summary>
public sealed class AgentEvents(IEventHistory history, EventBroadcaster broadcaster, TimeProvider time)
{
    public async Task<AgentEvent> PublishAsync(string type, AgentRecord agent, object? data, CancellationToken cancellationToken)
    {
        var payload = data is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(data, OrchestratorJson.Options);
        var stored = await history.AppendAsync(new AgentEvent(type, agent.AgentId, agent.TaskId, time.GetUtcNow(), payload), cancellationToken);
        broadcaster.Publish(stored);
        return stored;
    }
}
