using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Mosaic.Orchestrator.Events;

/// <summary>
/// Fans published events out to live subscribers (SSE clients). A subscriber that falls too far behind is
/// dropped rather than slowing the service or silently skipping events; it reconnects with Last-Event-ID and
/// replays what it missed from the history.
/// </summary>
public sealed class EventBroadcaster : IEventSink
{
    public const int SubscriberBuffer = 4096;
    private readonly ConcurrentDictionary<Guid, Channel<AgentEvent>> _subscribers = new();

    public int SubscriberCount => _subscribers.Count;

    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<AgentEvent>(new BoundedChannelOptions(SubscriberBuffer) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        var id = Guid.NewGuid();
        _subscribers[id] = channel;
        return new Subscription(channel.Reader, () =>
        {
            if (_subscribers.TryRemove(id, out var removed))
            {
                removed.Writer.TryComplete();
            }
        });
    }

    public void Publish(AgentEvent agentEvent)
    {
        foreach (var (id, channel) in _subscribers)
        {
            if (!channel.Writer.TryWrite(agentEvent) && _subscribers.TryRemove(id, out _))
            {
                channel.Writer.TryComplete(new SubscriberTooSlowException());
            }
        }
    }

    public sealed class Subscription(ChannelReader<AgentEvent> reader, Action unsubscribe) : IDisposable
    {
        public ChannelReader<AgentEvent> Reader { get; } = reader;

        public void Dispose() => unsubscribe();
    }
}

/// <summary>Where a store hands events it has committed, in commit order.</summary>
public interface IEventSink
{
    void Publish(AgentEvent agentEvent);
}

public sealed class SubscriberTooSlowException() : Exception("event subscriber fell behind; reconnect with Last-Event-ID");
