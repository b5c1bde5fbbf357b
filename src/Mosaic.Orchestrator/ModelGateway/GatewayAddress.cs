using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>
/// Where an agent on this host reaches the gateway: the service's own HTTP address, on loopback when the service
/// listens on every address. Known once the server listens (ORCHESTRATOR_PORT may be 0).
/// </summary>
public sealed class GatewayAddress(IServer server)
{
    private string? _url;

    public string Url => _url ??= Resolve();

    private string Resolve()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("the service does not listen on http yet");
        var uri = new Uri(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
        var host = IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
            ? (ip.Equals(IPAddress.Any) ? "127.0.0.1" : "[::1]")
            : uri.Host;
        return $"http://{host}:{uri.Port}";
    }
}
