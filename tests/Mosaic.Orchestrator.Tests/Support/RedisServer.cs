using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Mosaic.Orchestrator.Processes;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// A real redis-server process on a free loopback port, no snapshots, append-only file on (so a restart keeps every
/// write), in its own temporary directory. Stop is SIGTERM, which makes the server flush its AOF before it exits.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(int port, string directory)
    {
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public bool IsRunning => _process is { HasExited: false };

    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        var server = new RedisServer(Loopback.FreePort(), TempDirectory.Create("redis"));
        await server.StartProcessAsync(extraArguments);
        return server;
    }

    public async Task StartProcessAsync(params string[] extraArguments)
    {
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--dir", Directory, "--logfile", Path.Combine(Directory, "redis.log"), .. extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        _process.StandardOutput.BaseStream.Close();
        _process.StandardError.BaseStream.Close();
        await Wait.UntilAsync(() => _process.HasExited || Pong(), $"redis-server on port {Port} to answer PING", TimeSpan.FromSeconds(20));
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}: {File.ReadAllText(Path.Combine(Directory, "redis.log"))}");
        }
    }

    /// <summary>SIGTERM and wait: the server writes its AOF and exits.</summary>
    public async Task StopProcessAsync()
    {
        if (_process is { HasExited: false } process)
        {
            ProcessTable.Signal(process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(timeout.Token);
        }

        _process?.Dispose();
        _process = null;
    }

    public ConnectionMultiplexer Connect() =>
        ConnectionMultiplexer.Connect(new ConfigurationOptions { EndPoints = { { "127.0.0.1", Port } }, AbortOnConnectFail = false, AllowAdmin = true });

    /// <summary>The settings that point an orchestrator at this server, with its own key prefix.</summary>
    public void Configure(Dictionary<string, string?> settings, string prefix)
    {
        settings["STORAGE_BACKEND"] = "valkey";
        settings["VALKEY_HOST"] = "127.0.0.1";
        settings["VALKEY_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        settings["VALKEY_KEY_PREFIX"] = prefix;
    }

    private bool Pong()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(System.Net.IPAddress.Loopback, Port);
            using var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[64];
            var read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopProcessAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp directory is harmless
        }
    }
}

/// <summary>One redis-server for a test class; each test uses its own key prefix on it.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public static string NewPrefix() => $"t{Guid.NewGuid():N}"[..13];

    public async Task InitializeAsync()
    {
        Server = await RedisServer.StartAsync();
        Connection = Server.Connect();
    }

    public async Task DisposeAsync()
    {
        await Connection.CloseAsync();
        Connection.Dispose();
        await Server.DisposeAsync();
    }
}
