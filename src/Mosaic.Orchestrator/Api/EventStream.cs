using System.Globalization;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// GET /agents/events: Server-Sent Events. Each event carries its history id, so a client that reconnects with
/// Last-Event-ID (or ?since=) gets what it missed from the store before the live stream; ?agentId= narrows the
/// stream to one agent, and with since=0 its replay starts shortly before the agent's spawn (EventHistorySearch). A
/// comment line every 15 s keeps proxies from closing an idle stream. The stream ends when the service stops: the
/// server waits for open requests before it stops (up to 30 s), and a stream never ends by itself; a client
/// reconnects with Last-Event-ID to the next instance. A caller has at most EVENT_STREAMS_PER_CALLER streams open
/// (<see cref="EventStreamSlots"/>); the next is a 429 with Retry-After.
/// </summary>
public static class EventStream
{
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    private const int ReplayBatch = 500;

    public static async Task StreamAsync(
        HttpContext http, EventBroadcaster broadcaster, IEventHistory history, IAgentStore agents, IHostApplicationLifetime lifetime, EventStreamSlots slots,
        string? since, string? agentId)
    {
        using var slot = slots.TryTake(RateLimits.Caller(http));
        if (slot is null)
        {
            http.Response.Headers.RetryAfter = ((int)EventStreamSlots.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too Many Requests",
                detail: $"This caller already has {slots.Limit} event streams open (EVENT_STREAMS_PER_CALLER); close one or retry later.").ExecuteAsync(http);
            return;
        }

        using var ends = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var cancellationToken = ends.Token;
        Guid? onlyAgent = Guid.TryParse(agentId, out var parsed) ? parsed : null;
        var lastId = ParseResumePoint(http.Request.Headers["Last-Event-ID"].ToString()) ?? ParseResumePoint(since);

        ServerSentEvents.Begin(http);

        // Subscribe before replaying, then skip live events the replay already sent: no gap, no duplicate.
        using var subscription = broadcaster.Subscribe();
        try
        {
            if (onlyAgent is { } agent && lastId == 0 && await agents.GetAsync(agent, cancellationToken) is { } record)
            {
                // One agent from its first event: what came before its spawn is skipped without being read.
                lastId = await EventHistorySearch.StartBeforeAsync(history, record.SpawnedAt, cancellationToken);
            }

            await PumpAsync(http.Response, subscription.Reader, history, lastId, onlyAgent, cancellationToken);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            // The service stops: say so; returning ends the response, so the client sees the stream close (not a reset).
            await ServerSentEvents.CommentAsync(http.Response, "service stopping; reconnect with Last-Event-ID", http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
        catch (System.Threading.Channels.ChannelClosedException ex) when (ex.InnerException is SubscriberTooSlowException)
        {
            // Dropped for falling behind: ending the stream makes the client reconnect with Last-Event-ID.
        }
    }

    /// <summary>Replays what the client missed, then sends live events (and keep-alives) until cancelled.</summary>
    private static async Task PumpAsync(
        HttpResponse response, System.Threading.Channels.ChannelReader<AgentEvent> live, IEventHistory history, long? lastId, Guid? onlyAgent, CancellationToken cancellationToken)
    {
        await ServerSentEvents.CommentAsync(response, "connected", cancellationToken);
        var sent = lastId ?? 0;
        if (lastId is not null)
        {
            IReadOnlyList<AgentEvent> batch;
            do
            {
                batch = await history.ReadAfterAsync(sent, ReplayBatch, cancellationToken);
                foreach (var missed in batch)
                {
                    sent = missed.Id;
                    if (onlyAgent is null || missed.AgentId == onlyAgent)
                    {
                        await WriteAsync(response, missed, cancellationToken);
                    }
                }
            }
            while (batch.Count == ReplayBatch);
        }

        while (true)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(KeepAlive);
            try
            {
                var next = await live.ReadAsync(idle.Token);
                if (next.Id > sent && (onlyAgent is null || next.AgentId == onlyAgent))
                {
                    sent = next.Id;
                    await WriteAsync(response, next, cancellationToken);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await ServerSentEvents.CommentAsync(response, "keep-alive", cancellationToken);
            }
        }
    }

    private static long? ParseResumePoint(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    private static Task WriteAsync(HttpResponse response, AgentEvent agentEvent, CancellationToken cancellationToken) =>
        ServerSentEvents.EventAsync(response, agentEvent.Type, JsonSerializer.Serialize(agentEvent, OrchestratorJson.Options), cancellationToken, agentEvent.Id);
}
