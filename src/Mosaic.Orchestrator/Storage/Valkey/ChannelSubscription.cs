using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// One pub/sub subscription for a background relay: made once however many callers ask at once, made again by the
/// next caller when an attempt failed (the server was away), and ended at stop.
/// </summary>
public sealed class ChannelSubscription(ValkeyConnection valkey, RedisChannel channel)
{
    private readonly Lock _gate = new();
    private Task<ChannelMessageQueue>? _subscribing;

    public Task<ChannelMessageQueue> GetAsync()
    {
        lock (_gate)
        {
            if (_subscribing is null || _subscribing.IsFaulted || _subscribing.IsCanceled)
            {
                _subscribing = valkey.Subscriber.SubscribeAsync(channel);
            }

            return _subscribing;
        }
    }

    /// <summary>Subscribes before the host serves; a server that is away now is retried by the relay's loop.</summary>
    public async Task TryEarlyAsync()
    {
        try
        {
            await GetAsync();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // the relay's loop keeps trying
        }
    }

    public async Task UnsubscribeAsync()
    {
        if (_subscribing is { IsCompletedSuccessfully: true } subscribed)
        {
            try
            {
                await (await subscribed).UnsubscribeAsync();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Disconnected: nothing to unsubscribe from.
            }
        }
    }
}
