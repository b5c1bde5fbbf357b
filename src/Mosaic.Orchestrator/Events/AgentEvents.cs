using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Events;

/// <summary>
/// Makes lifecycle events and appends the ones that go with no state change. The store publishes every event after
/// its commit, in id order (an event that goes with a state change is written in the same atomic step as the change).
/// </summary>
public sealed class AgentEvents(IEventHistory history, TimeProvider time)
{
    public AgentEvent Create(string type, AgentRecord agent, object? data) =>
        new(type, agent.AgentId, agent.TaskId, time.GetUtcNow(),
            data is null ? null : JsonSerializer.SerializeToElement(data, OrchestratorJson.Options));

    public Task<AgentEvent> PublishAsync(string type, AgentRecord agent, object? data, CancellationToken cancellationToken) =>
        history.AppendAsync(Create(type, agent, data), cancellationToken);
}
