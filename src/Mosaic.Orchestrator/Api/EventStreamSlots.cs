using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// Open event streams per caller (key identity and address, as <see cref="RateLimits"/> tells callers apart), at most
/// EVENT_STREAMS_PER_CALLER: each stream holds a subscription with a buffer of up to 4096 events and a connection, so
/// clients that open streams and never read must not be able to take the service's memory. A slot is given back when
/// its stream ends, however it ends.
/// </summary>
public sealed class EventStreamSlots(IOptions<OrchestratorOptions> options)
{
    /// <summary>The Retry-After of a refusal: streams end when their clients leave, which the keep-alive finds within about this long.</summary>
    public static readonly TimeSpan RetryAfter = EventStream.KeepAlive;

    private readonly Dictionary<string, int> _open = new(StringComparer.Ordinal);
    private readonly int _limit = options.Value.EventStreamsPerCaller;

    public int Limit => _limit;

    /// <summary>A slot to dispose when the stream ends, or null when the caller already has its limit open.</summary>
    public IDisposable? TryTake(string caller)
    {
        lock (_open)
        {
            var open = _open.GetValueOrDefault(caller);
            if (open >= _limit)
            {
                return null;
            }

            _open[caller] = open + 1;
            return new Slot(this, caller);
        }
    }

    private void Release(string caller)
    {
        lock (_open)
        {
            if (_open.TryGetValue(caller, out var open) && open > 1)
            {
                _open[caller] = open - 1;
            }
            else
            {
                _open.Remove(caller);
            }
        }
    }

    private sealed class Slot(EventStreamSlots slots, string caller) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release(caller);
            }
        }
    }
}
