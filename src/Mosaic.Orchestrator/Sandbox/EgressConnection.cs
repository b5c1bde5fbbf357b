using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// One client connection: read the head (bounded in size and time), check the target, connect, then splice bytes
/// both ways until the upstream closes, the tunnel idles out or the listener stops. One request per connection: an
/// absolute-form request is forwarded with `Connection: close`, so whatever the client sends after it can only reach
/// the origin that was checked.
/// </summary>
internal sealed partial class EgressConnection(Socket client, EgressConnectionContext context)
{
    private const int SpliceBufferBytes = 16 * 1024;
    private const int MaxDrainBytes = 64 * 1024;
    private static readonly byte[] Established = "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray();

    private EgressProxyOptions Options => context.Options;

    public async Task RunAsync(CancellationToken stopping)
    {
        // One timer per connection: the head's deadline, then the tunnel's idle deadline, restarted by every read.
        using var deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, deadline.Token);
        var token = linked.Token;
        await using var clientStream = new NetworkStream(client, ownsSocket: false);
        var reader = PipeReader.Create(clientStream, new StreamPipeReaderOptions(bufferSize: SpliceBufferBytes, leaveOpen: true));
        Socket? upstream = null;

        // Disposing the sockets ends every pending read and write, whatever honours a token and whatever does not.
        using var closeOnStop = stopping.UnsafeRegister(static s => ((Socket)s!).Dispose(), client);
        try
        {
            deadline.CancelAfter(Options.HeadTimeout);
            ProxyRequestHead head;
            try
            {
                if (await ReadHeadAsync(reader, token) is not { } read)
                {
                    return;
                }

                head = read;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !stopping.IsCancellationRequested)
            {
                Answer(408, "Request Timeout", $"the request head did not arrive within {Options.HeadTimeout.TotalSeconds:0.#} s");
                return;
            }

            deadline.CancelAfter(Timeout.InfiniteTimeSpan);
            upstream = await ConnectAsync(head, stopping);
            await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);
            using var closeUpstreamOnStop = stopping.UnsafeRegister(static s => ((Socket)s!).Dispose(), upstream);
            if (head.IsConnect)
            {
                await clientStream.WriteAsync(Established, token);
            }
            else
            {
                await upstreamStream.WriteAsync(head.ToOriginForm(), token);
            }

            deadline.CancelAfter(Options.IdleTimeout);
            await SpliceAsync(reader, clientStream, upstream, upstreamStream, deadline, token);
        }
        catch (EgressHttpError error)
        {
            Answer(error.Status, error.Reason, error.Message);
            await DrainAsync(reader, stopping);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException
            || (ex is OperationCanceledException && token.IsCancellationRequested))
        {
            // The client or the upstream went away, the tunnel idled out, or the listener stopped: nothing to answer.
        }
        finally
        {
            await reader.CompleteAsync();
            upstream?.Dispose();
        }
    }

    /// <summary>A complete response with a plain-text body; every answer closes the connection.</summary>
    internal static byte[] Response(int status, string reason, string text) =>
        Encoding.UTF8.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(text) + 1}\r\nConnection: close\r\n\r\n{text}\n");

    private async Task<ProxyRequestHead?> ReadHeadAsync(PipeReader reader, CancellationToken token)
    {
        while (true)
        {
            var result = await reader.ReadAsync(token);
            var buffer = result.Buffer;
            if (ProxyRequestHead.FindEnd(buffer) is { } end)
            {
                var raw = buffer.Slice(0, end);
                if (raw.Length > Options.MaxHeadBytes)
                {
                    reader.AdvanceTo(end);
                    throw TooLarge();
                }

                var parsed = ProxyRequestHead.TryParse(raw, out var head, out var error);
                reader.AdvanceTo(end);
                return parsed ? head : throw new EgressHttpError(400, "Bad Request", error!);
            }

            if (buffer.Length > Options.MaxHeadBytes)
            {
                reader.AdvanceTo(buffer.End);
                throw TooLarge();
            }

            if (result.IsCompleted)
            {
                // The client left before finishing its head (a probe, a port scan): nothing to answer.
                reader.AdvanceTo(buffer.End);
                return null;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private EgressHttpError TooLarge() =>
        new(431, "Request Header Fields Too Large", $"the request head is larger than {Options.MaxHeadBytes} bytes");

    private async Task<Socket> ConnectAsync(ProxyRequestHead head, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(Options.ConnectTimeout, context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        var target = EgressHost.Format(head.Host, head.Port);
        try
        {
            IPAddress[] addresses;
            var port = head.Port;
            if (context.GatewayAlias is { } alias && head.Host == alias)
            {
                // The model gateway: the service's own endpoint, whatever port the agent named.
                addresses = [context.Policy.Gateway!.Endpoint.Address];
                port = context.Policy.Gateway.Endpoint.Port;
            }
            else
            {
                var decision = context.Policy.Rules.Check(head.Host, head.Port);
                if (!decision.Allowed)
                {
                    throw await RefuseAsync(head, decision.Reason!, stopping);
                }

                // Resolved here, on the host, after the name was checked: the container has no resolver of its own.
                addresses = IPAddress.TryParse(head.Host, out var literal) ? [literal] : await ResolveAsync(head.Host, target, linked.Token);
                if (!decision.Exact)
                {
                    addresses = [.. addresses.Where(a => !EgressHost.IsNonPublic(a))];
                    if (addresses.Length == 0)
                    {
                        throw await RefuseAsync(head, $"{target} resolves only to loopback, link-local or private addresses, which a wildcard rule does not reach", stopping);
                    }
                }
            }

            SocketException? last = null;
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(address, port, linked.Token);
                    return socket;
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    last = ex;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            throw new EgressHttpError(502, "Bad Gateway", $"could not connect to {target} ({last?.SocketErrorCode.ToString() ?? "no address"})");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            throw new EgressHttpError(504, "Gateway Timeout", $"{target} did not answer within {Options.ConnectTimeout.TotalSeconds:0.#} s");
        }
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, string target, CancellationToken token)
    {
        try
        {
            return await Dns.GetHostAddressesAsync(host, token);
        }
        catch (SocketException ex)
        {
            throw new EgressHttpError(502, "Bad Gateway", $"could not resolve {target} ({ex.SocketErrorCode})");
        }
    }

    private async Task<EgressHttpError> RefuseAsync(ProxyRequestHead head, string reason, CancellationToken stopping)
    {
        if (context.Policy.OnRefused is { } onRefused)
        {
            try
            {
                await onRefused(new EgressRefusal(head.Host, head.Port, reason), stopping);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRefusalCallbackFailed(context.Logger, head.Host, head.Port, ex);
            }
        }

        return new EgressHttpError(403, "Forbidden", reason);
    }

    /// <summary>
    /// Bytes both ways until either side closes (the end is passed on first: a half-close to the upstream, so it sees
    /// a clean end rather than a reset). Waiting on after one side's end would let a client that is gone (a killed
    /// container looks the same as a half-close on a Unix socket) hold an upstream connection until the idle timeout.
    /// The deadline restarts at every read in either direction.
    /// </summary>
    private async Task SpliceAsync(PipeReader reader, NetworkStream clientStream, Socket upstream, NetworkStream upstreamStream, CancellationTokenSource deadline, CancellationToken token)
    {
        using var tunnel = CancellationTokenSource.CreateLinkedTokenSource(token);
        var up = ClientToUpstreamAsync(reader, upstream, upstreamStream, deadline, tunnel.Token);
        var down = UpstreamToClientAsync(upstreamStream, clientStream, deadline, tunnel.Token);
        await Task.WhenAny(up, down);
        await tunnel.CancelAsync();
        await Task.WhenAll(up, down);
    }

    private async Task<bool> ClientToUpstreamAsync(PipeReader reader, Socket upstream, NetworkStream upstreamStream, CancellationTokenSource deadline, CancellationToken token)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(token);
                if (!result.Buffer.IsEmpty)
                {
                    deadline.CancelAfter(Options.IdleTimeout);
                }

                foreach (var segment in result.Buffer)
                {
                    await upstreamStream.WriteAsync(segment, token);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    upstream.Shutdown(SocketShutdown.Send);
                    return true;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> UpstreamToClientAsync(NetworkStream upstreamStream, NetworkStream clientStream, CancellationTokenSource deadline, CancellationToken token)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(SpliceBufferBytes);
        try
        {
            int read;
            while ((read = await upstreamStream.ReadAsync(buffer, token)) > 0)
            {
                deadline.CancelAfter(Options.IdleTimeout);
                await clientStream.WriteAsync(buffer.AsMemory(0, read), token);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// An error answer, sent without waiting: a few hundred bytes always fit a fresh connection's send buffer, and a
    /// client that does not read must not hold the connection open.
    /// </summary>
    private void Answer(int status, string reason, string text)
    {
        try
        {
            client.Blocking = false;
            client.Send(Response(status, reason, text), SocketFlags.None, out _);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Reads what the client still sends (bounded) before closing, so the close does not reset the connection and
    /// discard the answer before the client has read it.
    /// </summary>
    private async Task DrainAsync(PipeReader reader, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1), context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        long drained = 0;
        try
        {
            while (drained < MaxDrainBytes)
            {
                var result = await reader.ReadAsync(linked.Token);
                drained += result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Egress proxy: the refusal callback for {Host}:{Port} failed")]
    private static partial void LogRefusalCallbackFailed(ILogger logger, string host, int port, Exception exception);

    /// <summary>An answer that ends the connection: 400, 403, 431, 502, 504.</summary>
    private sealed class EgressHttpError(int status, string reason, string message) : Exception(message)
    {
        public int Status { get; } = status;

        public string Reason { get; } = reason;
    }
}
