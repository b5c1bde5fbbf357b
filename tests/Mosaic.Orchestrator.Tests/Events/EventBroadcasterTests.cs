using System.Threading.Channels;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Tests.Events;

public sealed class EventBroadcasterTests
{
    private static AgentEvent Event(long id) => new("agent.spawned", Guid.Empty, "T", DateTimeOffset.UnixEpoch, null) { Id = id };

    [Fact]
    public async Task Every_subscriber_gets_every_event_in_order()
    {
        var broadcaster = new EventBroadcaster();
        using var first = broadcaster.Subscribe();
        using var second = broadcaster.Subscribe();
        Assert.Equal(2, broadcaster.SubscriberCount);
        for (var id = 1; id <= 3; id++)
        {
            broadcaster.Publish(Event(id));
        }

        foreach (var subscription in new[] { first, second })
        {
            Assert.Equal([1L, 2L, 3L], new[] { await subscription.Reader.ReadAsync(), await subscription.Reader.ReadAsync(), await subscription.Reader.ReadAsync() }.Select(e => e.Id));
        }
    }

    [Fact]
    public async Task A_subscriber_that_falls_behind_is_dropped_with_a_reason_and_the_others_keep_going()
    {
        var broadcaster = new EventBroadcaster();
        using var slow = broadcaster.Subscribe();
        for (var id = 1; id <= EventBroadcaster.SubscriberBuffer + 1; id++)
        {
            broadcaster.Publish(Event(id));
        }

        Assert.Equal(0, broadcaster.SubscriberCount);
        var seen = 0;
        var closed = await Assert.ThrowsAsync<ChannelClosedException>(async () =>
        {
            while (true)
            {
                await slow.Reader.ReadAsync();
                seen++;
            }
        });
        Assert.IsType<SubscriberTooSlowException>(closed.InnerException);
        Assert.Equal(EventBroadcaster.SubscriberBuffer, seen);

        using var fresh = broadcaster.Subscribe();
        broadcaster.Publish(Event(99));
        Assert.Equal(99, (await fresh.Reader.ReadAsync()).Id);
    }
}
