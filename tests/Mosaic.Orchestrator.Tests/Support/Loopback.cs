using System.Net.Sockets;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>Ports on 127.0.0.1 for servers the tests start.</summary>
public static class Loopback
{
    /// <summary>A port nothing listens on right now (the OS picked it and it was released).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static bool Listens(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
