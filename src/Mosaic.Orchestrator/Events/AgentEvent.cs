using System.Text.Json;

namespace Mosaic.Orchestrator.Events;

/// <summary>A lifecycle event as SPEC defines it; <see cref="Id"/> is its position in the event history (SSE id).</summary>
public sealed record AgentEvent(string Type, Guid AgentId, string TaskId, DateTimeOffset Timestamp, JsonElement? Data)
{
    public long Id { get; init; }
}

/// <summary>Durable, ordered history of events; it lets an SSE client resume with Last-Event-ID.</summary>
public interface IEventHistory
{
    /// <summary>Appends and returns the event with its assigned id.</summary>
    Task<AgentEvent> AppendAsync(AgentEvent agentEvent, CancellationToken cancellationToken);

    Task<IReadOnlyList<AgentEvent>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken);
}
