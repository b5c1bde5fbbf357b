using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mosaic.Orchestrator.Sandbox;

namespace Mosaic.Orchestrator.Tests.Sandbox;

/// <summary>
/// An origin server on loopback (real Kestrel, http and https with a throwaway certificate for localhost) that says
/// what it received: GET /hello, GET /headers (the request head as it arrived), POST /echo (the body, streamed back).
/// </summary>
public sealed class Origin : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Origin(WebApplication app, X509Certificate2 certificate)
    {
        _app = app;
        Certificate = certificate;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        HttpPort = new Uri(addresses.Single(a => a.StartsWith("http://", StringComparison.Ordinal))).Port;
        HttpsPort = new Uri(addresses.Single(a => a.StartsWith("https://", StringComparison.Ordinal))).Port;
    }

    public X509Certificate2 Certificate { get; }

    public int HttpPort { get; }

    public int HttpsPort { get; }

    public static async Task<Origin> StartAsync()
    {
        var certificate = CreateCertificate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate));
        });
        var app = builder.Build();
        app.MapGet("/hello", (HttpContext http) => $"hello over {http.Request.Scheme} to {http.Request.Host}");
        app.MapGet("/headers", (HttpContext http) =>
            string.Join("\n", http.Request.Headers.Select(h => $"{h.Key}: {h.Value}")));
        app.MapPost("/echo", async (HttpContext http) =>
        {
            http.Response.ContentType = "application/octet-stream";
            await http.Request.Body.CopyToAsync(http.Response.Body);
        });
        await app.StartAsync();
        return new Origin(app, certificate);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate.Dispose();
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }
}

/// <summary>A proxy listener on a socket in a folder of its own, and the clients the tests use against it.</summary>
public sealed class ProxyUnderTest : IAsyncDisposable
{
    private readonly string _folder;
    private readonly List<EgressRefusal> _refusals = [];

    private ProxyUnderTest(string folder) => _folder = folder;

    public EgressListener Listener { get; private set; } = null!;

    public string SocketPath => Listener.SocketPath;

    public IReadOnlyList<EgressRefusal> Refusals
    {
        get
        {
            lock (_refusals)
            {
                return [.. _refusals];
            }
        }
    }

    public static async Task<ProxyUnderTest> StartAsync(
        string allow, EgressProxyOptions? options = null, EgressGateway? gateway = null, EgressRules? rules = null,
        Func<EgressRefusal, ValueTask>? onRefused = null, TimeProvider? time = null)
    {
        // Unix socket paths are limited to about 100 bytes: a short folder under /tmp, not the test's output folder.
        var folder = Directory.CreateTempSubdirectory("egress-").FullName;
        var proxy = new ProxyUnderTest(folder);
        var policy = new EgressPolicy(rules ?? EgressRules.Parse(allow), async (refusal, _) =>
        {
            lock (proxy._refusals)
            {
                proxy._refusals.Add(refusal);
            }

            if (onRefused is not null)
            {
                await onRefused(refusal);
            }
        }, gateway);
        var egress = new EgressProxy(options ?? new EgressProxyOptions(), time ?? TimeProvider.System, NullLogger<EgressProxy>.Instance);
        proxy.Listener = await egress.StartAsync(Path.Combine(folder, "egress.sock"), policy);
        return proxy;
    }

    /// <summary>An HttpClient configured as a container's would be: every request through the proxy.</summary>
    public HttpClient Client(X509Certificate2? trusted = null) =>
        new(new SocketsHttpHandler
        {
            UseProxy = true,
            Proxy = new WebProxy("http://egress-proxy:3128"),
            ConnectCallback = async (_, cancellationToken) => new NetworkStream(await ConnectAsync(cancellationToken), ownsSocket: true),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => trusted is not null && certificate?.GetCertHashString() == trusted.GetCertHashString(),
            },
        })
        { Timeout = TimeSpan.FromSeconds(30) };

    public async Task<Socket> ConnectAsync(CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="head"/> on a fresh connection and returns the connection and the answer's head.</summary>
    public async Task<(Socket Socket, string Head)> SendHeadAsync(string head)
    {
        var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.Latin1.GetBytes(head));
        return (socket, await Raw.ReadHeadAsync(socket));
    }

    public async ValueTask DisposeAsync()
    {
        await Listener.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>Reads on raw sockets, with a deadline so a test fails instead of hanging.</summary>
public static class Raw
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>Up to and including the blank line, byte by byte so nothing after it is consumed.</summary>
    public static async Task<string> ReadHeadAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await socket.ReceiveAsync(one, timeout.Token) == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    /// <summary>Everything until the peer closes (or resets) the connection.</summary>
    public static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var all = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0)
            {
                all.Write(buffer, 0, read);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return Encoding.Latin1.GetString(all.ToArray());
    }

    public static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var buffer = new byte[count];
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.ReadExactlyAsync(buffer, timeout.Token);
        return buffer;
    }

    /// <summary>True when the peer has closed: a read returns end of stream (or a reset) before the deadline.</summary>
    public static async Task<bool> IsClosedAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
