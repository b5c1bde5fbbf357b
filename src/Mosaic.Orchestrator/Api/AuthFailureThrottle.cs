using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// Failed API key checks per caller address: after AUTH_FAILURES_PER_MINUTE of them within a minute (counted from the
/// first), the address is answered 429 with Retry-After until that minute is over, and its keys are not checked at
/// all, the right one included. Why the right one too: were it served while wrong ones get a 429, every blocked request
/// would still tell a right key from a wrong one, and guessing would go on at full speed. The price: a caller that
/// shares the operator's address (a NAT, or an agent on this host calling loopback) can hold that address off for the
/// window; other addresses are never affected. An IPv6 caller is its /64, which one host usually holds whole.
/// </summary>
public sealed class AuthFailureThrottle(TimeProvider time, IOptions<OrchestratorOptions> options)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>Above this many addresses, windows that are over are dropped, so spoofed sources cannot grow the table for long.</summary>
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, Failures> _failures = new(StringComparer.Ordinal);
    private readonly int _limit = options.Value.AuthFailuresPerMinute;

    private readonly record struct Failures(DateTimeOffset Since, int Count);

    /// <summary>How long the address must wait, or null when its key may be checked.</summary>
    public TimeSpan? Blocked(IPAddress? address)
    {
        var now = time.GetUtcNow();
        return _failures.TryGetValue(Caller(address), out var failures) && failures.Count >= _limit && now < failures.Since + Window
            ? failures.Since + Window - now
            : null;
    }

    public void Failed(IPAddress? address)
    {
        var now = time.GetUtcNow();
        _failures.AddOrUpdate(Caller(address), new Failures(now, 1),
            (_, failures) => now >= failures.Since + Window ? new Failures(now, 1) : failures with { Count = failures.Count + 1 });
        if (_failures.Count > PruneAbove)
        {
            foreach (var (caller, failures) in _failures)
            {
                if (now >= failures.Since + Window)
                {
                    _failures.TryRemove(new KeyValuePair<string, Failures>(caller, failures));
                }
            }
        }
    }

    /// <summary>An IPv4 address (also when mapped into IPv6), or the /64 of an IPv6 address.</summary>
    public static string Caller(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
