using System.Net.Sockets;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// The sandbox's only way out: an HTTP/1.1 proxy on a Unix socket, one listener per attempt, bind-mounted into the
/// container (where socat bridges 127.0.0.1:3128 to it). CONNECT opens a checked TCP tunnel; an absolute-form request
/// goes to its checked origin over a fresh connection. Names are checked before they are resolved, and resolved
/// here on the host: the container has no DNS. Docs: docs/sandbox.md.
/// </summary>
public sealed class EgressProxy(EgressProxyOptions options, TimeProvider time, ILogger<EgressProxy> logger)
{
    /// <summary>
    /// Listens on <paramref name="socketPath"/> (a stale file there is replaced; the folder is the caller's) until the
    /// handle is disposed, which stops listening, closes every connection and tunnel, and deletes the socket file.
    /// </summary>
    public Task<EgressListener> StartAsync(string socketPath, EgressPolicy policy, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string? alias = null;
        if (policy.Gateway is { } gateway && !EgressHost.TryNormalize(gateway.Alias, bracketed: false, out alias, out _, out var error))
        {
            throw new ArgumentException($"gateway alias '{gateway.Alias}': {error}", nameof(policy));
        }

        File.Delete(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(socketPath));

            // The container's user (uid 10001 by default) is not the service's; who may reach the socket is decided by
            // the folder it lives in, which only that attempt's container has mounted.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite
                    | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
            }

            socket.Listen(options.MaxConnections);
        }
        catch
        {
            socket.Dispose();
            File.Delete(socketPath);
            throw;
        }

        return Task.FromResult(new EgressListener(socket, socketPath, new EgressConnectionContext(options, policy, alias, time, logger)));
    }
}

/// <summary>What every connection of one listener shares.</summary>
internal sealed record EgressConnectionContext(EgressProxyOptions Options, EgressPolicy Policy, string? GatewayAlias, TimeProvider Time, ILogger Logger);
