namespace Mosaic.Orchestrator.Events;

/// <summary>
/// Where in the event history an instant starts, found by bisecting its ids instead of reading it all: a stream of
/// one agent's events from its first (the CLI's <c>watch --agent</c> and <c>spawn --wait</c>) replayed the whole
/// history (up to VALKEY_EVENTS_MAX_LENGTH, or RETENTION_DAYS of events) to keep a few of them. Ids grow in the order
/// events are committed and timestamps nearly so; <see cref="ClockMargin"/> covers instances whose clocks differ.
/// </summary>
public static class EventHistorySearch
{
    /// <summary>How far before the instant the replay starts, for events stamped by another instance's clock.</summary>
    public static readonly TimeSpan ClockMargin = TimeSpan.FromMinutes(5);

    /// <summary>
    /// An id to replay after that skips only events stamped more than <see cref="ClockMargin"/> before
    /// <paramref name="instant"/>: the id of the last event stamped that early before the first that is not (0 when
    /// the first event is not). About 2 log2(n) one-event reads for a history whose last id is n.
    /// </summary>
    public static async Task<long> StartBeforeAsync(IEventHistory history, DateTimeOffset instant, CancellationToken cancellationToken)
    {
        var target = instant - ClockMargin;

        // Early(x): the first event after id x is stamped before the target, so x and everything up to it can go.
        async Task<bool> EarlyAsync(long afterId) =>
            await history.ReadAfterAsync(afterId, 1, cancellationToken) is [var next] && next.Timestamp < target;

        if (!await EarlyAsync(0))
        {
            return 0;
        }

        // Gallop to a bound that is not early, then bisect: low is always early, high never.
        long low = 0, high = 1;
        while (await EarlyAsync(high))
        {
            low = high;
            high *= 2;
        }

        while (high - low > 1)
        {
            var middle = low + ((high - low) / 2);
            if (await EarlyAsync(middle))
            {
                low = middle;
            }
            else
            {
                high = middle;
            }
        }

        // The first event after `low` is early and the first after `high` is not, so that event's id is `high`.
        return high;
    }
}
