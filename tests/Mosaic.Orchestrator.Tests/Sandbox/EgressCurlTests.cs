using System.Diagnostics;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Sandbox;

/// <summary>
/// The proxy as the container sees it: socat bridges a loopback port to the Unix socket, and curl goes out through
/// HTTPS_PROXY / HTTP_PROXY, the way the agent's tools do.
/// </summary>
public sealed class EgressCurlTests
{
    [Fact]
    public async Task Curl_through_a_socat_bridge_reaches_allowed_origins_and_is_refused_elsewhere()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync($"localhost:{origin.HttpsPort}, 127.0.0.1:{origin.HttpPort}");
        await using var bridge = await SocatBridge.StartAsync(proxy.SocketPath);
        var folder = Directory.CreateTempSubdirectory("egress-curl-").FullName;
        try
        {
            var ca = Path.Combine(folder, "origin.pem");
            await File.WriteAllTextAsync(ca, origin.Certificate.ExportCertificatePem());
            var upload = Path.Combine(folder, "upload.bin");
            await File.WriteAllBytesAsync(upload, System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000));

            var https = await CurlAsync(bridge.Url, "--cacert", ca, $"https://localhost:{origin.HttpsPort}/hello");
            var http = await CurlAsync(bridge.Url, $"http://127.0.0.1:{origin.HttpPort}/hello");
            var posted = await CurlAsync(bridge.Url, "--data-binary", $"@{upload}", "-H", "Content-Type: application/octet-stream",
                "-o", Path.Combine(folder, "echoed.bin"), $"http://127.0.0.1:{origin.HttpPort}/echo");
            var refused = await CurlAsync(bridge.Url, "https://example.com/");

            Assert.Equal((0, $"hello over https to localhost:{origin.HttpsPort}"), (https.Exit, https.Output));
            Assert.Equal((0, $"hello over http to 127.0.0.1:{origin.HttpPort}"), (http.Exit, http.Output));
            Assert.Equal(0, posted.Exit);
            Assert.Equal(await File.ReadAllBytesAsync(upload), await File.ReadAllBytesAsync(Path.Combine(folder, "echoed.bin")));
            Assert.NotEqual(0, refused.Exit);
            Assert.Contains("403", refused.Error);
            Assert.Equal(("example.com", 443), proxy.Refusals.Select(r => (r.Host, r.Port)).Single());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>curl with the proxy in its environment, as the sandbox sets it, and nothing from ours.</summary>
    private static async Task<(int Exit, string Output, string Error)> CurlAsync(string proxyUrl, params string[] arguments)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-sS", "--max-time", "20", "--noproxy", "", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("NO_PROXY");
        start.Environment.Remove("no_proxy");
        start.Environment["HTTPS_PROXY"] = proxyUrl;
        start.Environment["HTTP_PROXY"] = proxyUrl;
        start.Environment["http_proxy"] = proxyUrl;
        using var curl = Process.Start(start)!;
        var output = curl.StandardOutput.ReadToEndAsync();
        var error = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        return (curl.ExitCode, await output, await error);
    }
}

/// <summary>socat bridging a loopback port to the proxy's Unix socket, as inside the container (127.0.0.1:3128 there).</summary>
public sealed class SocatBridge : IAsyncDisposable
{
    private readonly Process _socat;

    private SocatBridge(Process socat, int port)
    {
        _socat = socat;
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public static async Task<SocatBridge> StartAsync(string socketPath)
    {
        var port = Loopback.FreePort();
        var start = new ProcessStartInfo("socat") { RedirectStandardError = true };
        start.ArgumentList.Add($"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork");
        start.ArgumentList.Add($"UNIX-CONNECT:{socketPath}");
        Process socat;
        try
        {
            socat = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("socat is not installed for the tests: apt-get install -y socat", ex);
        }

        var bridge = new SocatBridge(socat, port);
        await Wait.UntilAsync(() => socat.HasExited || Loopback.Listens(port), "socat to listen");
        if (socat.HasExited)
        {
            throw new InvalidOperationException($"socat exited: {await socat.StandardError.ReadToEndAsync()}");
        }

        return bridge;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_socat.HasExited)
        {
            _socat.Kill(entireProcessTree: true);
        }

        await _socat.WaitForExitAsync();
        _socat.Dispose();
    }
}
