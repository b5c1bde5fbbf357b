using System.Net;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// What one attempt's proxy listener lets through: the <paramref name="Rules"/>, the model gateway's alias (reached
/// without an allowlist entry), and whom to tell about each refusal. <paramref name="OnRefused"/> runs on the
/// refused connection before its 403 goes out; an exception from it is logged and the refusal stands.
/// </summary>
public sealed record EgressPolicy(EgressRules Rules, Func<EgressRefusal, CancellationToken, ValueTask>? OnRefused = null, EgressGateway? Gateway = null);

/// <summary>
/// Requests for <paramref name="Alias"/> (e.g. `mosaic-gateway`, any port, CONNECT or plain HTTP) go to
/// <paramref name="Endpoint"/>, the service's own model gateway on loopback, whatever the rules say.
/// </summary>
public sealed record EgressGateway(string Alias, IPEndPoint Endpoint);

/// <summary>
/// Limits of one listener against a hostile agent. None of them is the agent's to change; the defaults fit an agent
/// that talks to a model API and a package registry.
/// </summary>
public sealed record EgressProxyOptions
{
    /// <summary>Request line and headers together; a larger head gets 431.</summary>
    public int MaxHeadBytes { get; init; } = 16 * 1024;

    /// <summary>From the connection's accept to its head's last byte; a slower head gets 408 and the connection closes.</summary>
    public TimeSpan HeadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Open connections per listener (per attempt); one more gets 503.</summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>A tunnel with no byte either way for this long is closed (model streams send pings well within it).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Resolving and connecting to the upstream; past it the request gets 504.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
}
