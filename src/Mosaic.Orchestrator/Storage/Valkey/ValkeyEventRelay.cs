using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// Feeds this instance's event subscribers (SSE) from {prefix}:events, which carries the events of every instance,
/// this one's included, in id order: so each event is delivered once, and in order, whoever stored it. Pub/sub loses
/// what is published while a subscriber is disconnected, so a gap in the ids, and every quiet
/// <see cref="CatchUpInterval"/>, is filled from the history first. Events that may make work leasable (a spawn,
/// a retry, an end) also wake the local worker, so a task spawned on another instance starts here at once.
/// </summary>
public sealed partial class ValkeyEventRelay(
    ValkeyConnection valkey,
    IEventHistory history,
    IEventSink sink,
    QueueSignal signal,
    ILogger<ValkeyEventRelay> logger) : BackgroundService
{
    public static readonly TimeSpan CatchUpInterval = TimeSpan.FromSeconds(1);
    private const int CatchUpBatch = 500;

    private readonly ChannelSubscription _subscription = new(valkey, valkey.EventsChannel);
    private long _delivered = -1;
    private bool _failing;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribed before the host serves, so a client's first stream misses nothing published after the start.
        await _subscription.TryEarlyAsync();
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var messages = await EnsureSubscribedAsync();
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                quiet.CancelAfter(CatchUpInterval);
                ChannelMessage message;
                try
                {
                    message = await messages.ReadAsync(quiet.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    await CatchUpAsync(long.MaxValue, stoppingToken);
                    _failing = false;
                    continue;
                }

                var agentEvent = ValkeyDocuments.Event(message.Message.ToString());
                if (agentEvent.Id <= _delivered && await HistoryWentBackAsync())
                {
                    _delivered = agentEvent.Id - 1; // the ids were handed out again after the server lost writes
                }

                if (agentEvent.Id > _delivered + 1)
                {
                    await CatchUpAsync(agentEvent.Id, stoppingToken);
                }

                Deliver(agentEvent);
                _failing = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException or InvalidDataException)
            {
                if (!_failing)
                {
                    _failing = true;
                    LogRelayFailing(logger, ex.Message);
                }

                try
                {
                    await Task.Delay(CatchUpInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _subscription.UnsubscribeAsync();
    }

    private async Task<ChannelMessageQueue> EnsureSubscribedAsync()
    {
        var messages = await _subscription.GetAsync();
        if (_delivered < 0)
        {
            // Events before the subscription are history (replayed to clients that ask with Last-Event-ID).
            var last = await valkey.Database.StringGetAsync(valkey.Key("events:seq"));
            _delivered = last.IsNull ? 0 : (long)last;
        }

        return messages;
    }

    /// <summary>
    /// True when the server's event counter is below what this instance delivered: it lost writes (a crash between
    /// AOF fsyncs, a restore from an older file) and hands those ids out again. Without this check every instance
    /// that stayed up would take the new events for ones it already delivered and drop them.
    /// </summary>
    private async Task<bool> HistoryWentBackAsync()
    {
        var counter = await valkey.Database.StringGetAsync(valkey.Key("events:seq"));
        var current = counter.IsNull ? 0 : (long)counter;
        if (current >= _delivered)
        {
            return false;
        }

        LogHistoryWentBack(logger, _delivered, current);
        return true;
    }

    /// <summary>Delivers from the history every event after the last delivered one and before <paramref name="before"/>.</summary>
    private async Task CatchUpAsync(long before, CancellationToken cancellationToken)
    {
        while (true)
        {
            var missed = await history.ReadAfterAsync(_delivered, CatchUpBatch, cancellationToken);
            foreach (var agentEvent in missed)
            {
                if (agentEvent.Id >= before)
                {
                    return;
                }

                Deliver(agentEvent);
            }

            if (missed.Count < CatchUpBatch)
            {
                return;
            }
        }
    }

    private void Deliver(AgentEvent agentEvent)
    {
        if (agentEvent.Id <= _delivered)
        {
            return; // already delivered from the history
        }

        _delivered = agentEvent.Id;
        sink.Publish(agentEvent);
        if (agentEvent.Type is AgentEventTypes.Spawned or AgentEventTypes.Retrying or AgentEventTypes.Completed
            or AgentEventTypes.Failed or AgentEventTypes.Killed)
        {
            signal.Notify();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Valkey event relay: {Message}; live events resume from the history after the reconnect")]
    private static partial void LogRelayFailing(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Valkey event history went back from id {Delivered} to {Current} (the server lost writes); delivering the reissued ids")]
    private static partial void LogHistoryWentBack(ILogger logger, long delivered, long current);
}
