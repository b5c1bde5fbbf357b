using System.Net.Sockets;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// One attempt's proxy listener. Owns its accept loop and every connection it accepted: disposing it stops accepting,
/// closes each connection (tunnels included), waits until every handler has returned, then deletes the socket file.
/// </summary>
public sealed partial class EgressListener : IAsyncDisposable
{
    private static readonly byte[] TooManyConnections = EgressConnection.Response(503, "Service Unavailable", "too many open connections through the proxy");

    private readonly Socket _socket;
    private readonly EgressConnectionContext _context;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _acceptLoop;

    // The accept loop holds one count and each open connection one more; whoever brings it to zero signals _drained.
    private int _holders = 1;
    private int _disposed;

    internal EgressListener(Socket socket, string socketPath, EgressConnectionContext context)
    {
        _socket = socket;
        _context = context;
        SocketPath = socketPath;
        _acceptLoop = AcceptAsync(_stopping.Token);
    }

    public string SocketPath { get; }

    /// <summary>Connections open right now (tunnels and requests in flight).</summary>
    public int OpenConnections => Math.Max(0, Volatile.Read(ref _holders) - 1);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        _socket.Dispose();
        await _acceptLoop;
        await _drained.Task;
        File.Delete(SocketPath);
        _stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken stopping)
    {
        await Task.Yield();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _socket.AcceptAsync(stopping);
                }
                catch (Exception ex) when (stopping.IsCancellationRequested && ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    break;
                }
                catch (SocketException ex)
                {
                    // Out of descriptors or the like: the listener stays; the agent's next connection may succeed.
                    LogAcceptFailed(_context.Logger, _socket.LocalEndPoint?.ToString() ?? "", ex.SocketErrorCode);
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100), _context.Time, stopping);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }

                    continue;
                }

                if (Interlocked.Increment(ref _holders) - 1 > _context.Options.MaxConnections)
                {
                    Release();
                    Reject(client);
                    continue;
                }

                // Runs until the connection ends; the count above keeps DisposeAsync waiting for it.
                _ = ServeAsync(client, stopping);
            }
        }
        finally
        {
            Release();
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stopping)
    {
        await Task.Yield();
        try
        {
            await new EgressConnection(client, _context).RunAsync(stopping);
        }
        catch (Exception ex)
        {
            // Nothing an agent sends may take the service down: the connection is gone, the listener stays.
            LogConnectionFailed(_context.Logger, ex);
        }
        finally
        {
            client.Dispose();
            Release();
        }
    }

    private static void Reject(Socket client)
    {
        using (client)
        {
            try
            {
                // A fresh socket's send buffer takes these bytes at once; a client that never reads cannot hold us.
                client.Blocking = false;
                client.Send(TooManyConnections, SocketFlags.None, out _);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            _drained.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Egress proxy on {Socket}: accept failed ({Error})")]
    private static partial void LogAcceptFailed(ILogger logger, string socket, SocketError error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Egress proxy: a connection failed unexpectedly")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception);
}
