using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Mosaic.Orchestrator.Sandbox;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Sandbox;

/// <summary>
/// The egress proxy over a real Unix socket, against real servers on loopback, with real clients: HttpClient configured
/// with a proxy, and raw socket writes for what a well-behaved client would never send.
/// </summary>
public sealed class EgressProxyTests
{
    [Fact]
    public async Task An_allowed_connect_tunnel_carries_tls_both_ways()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync($"localhost:{origin.HttpsPort}");
        using var client = proxy.Client(trusted: origin.Certificate);

        var hello = await client.GetStringAsync($"https://localhost:{origin.HttpsPort}/hello");
        var payload = RandomNumberGenerator.GetBytes(300_000);
        using var echoed = await client.PostAsync($"https://localhost:{origin.HttpsPort}/echo", new ByteArrayContent(payload));

        Assert.Equal($"hello over https to localhost:{origin.HttpsPort}", hello);
        Assert.Equal(payload, await echoed.Content.ReadAsByteArrayAsync());
        Assert.Empty(proxy.Refusals);
    }

    [Fact]
    public async Task A_tunnel_passes_plain_bytes_both_ways_until_either_side_closes()
    {
        using var upstream = new TcpListener(IPAddress.Loopback, 0);
        upstream.Start();
        var port = ((IPEndPoint)upstream.LocalEndpoint).Port;
        await using var proxy = await ProxyUnderTest.StartAsync($"127.0.0.1:{port}");

        var (tunnel, head) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        using var _ = tunnel;
        using var far = await upstream.AcceptSocketAsync();

        Assert.StartsWith("HTTP/1.1 200", head);
        await tunnel.SendAsync("ping from the agent"u8.ToArray());
        Assert.Equal("ping from the agent", Encoding.ASCII.GetString(await Raw.ReadExactlyAsync(far, 19)));
        await far.SendAsync("pong from the origin"u8.ToArray());
        Assert.Equal("pong from the origin", Encoding.ASCII.GetString(await Raw.ReadExactlyAsync(tunnel, 20)));

        far.Shutdown(SocketShutdown.Send);
        Assert.Equal("", await Raw.ReadToEndAsync(tunnel));   // the origin's end is the tunnel's end
        Assert.True(await Raw.IsClosedAsync(far));
        await Wait.UntilAsync(() => proxy.Listener.OpenConnections == 0, "the tunnel to be gone");

        var (second, secondHead) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");
        using var __ = second;
        using var secondFar = await upstream.AcceptSocketAsync();
        Assert.StartsWith("HTTP/1.1 200", secondHead);
        second.Shutdown(SocketShutdown.Send);
        Assert.Equal("", await Raw.ReadToEndAsync(secondFar));  // and so is the client's
        Assert.Equal("", await Raw.ReadToEndAsync(second));
    }

    [Fact]
    public async Task An_absolute_form_get_goes_to_the_origin_without_the_proxy_headers()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync($"127.0.0.1:{origin.HttpPort}");
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{origin.HttpPort}/headers");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic c2VjcmV0");
        request.Headers.TryAddWithoutValidation("X-Kept", "yes");

        using var response = await client.SendAsync(request);
        var seen = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"Host: 127.0.0.1:{origin.HttpPort}", seen);
        Assert.Contains("X-Kept: yes", seen);
        Assert.Contains("Connection: close", seen);
        Assert.DoesNotContain("Proxy-", seen, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_absolute_form_post_streams_a_chunked_body_both_ways()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync($"127.0.0.1:{origin.HttpPort}");
        using var client = proxy.Client();
        var payload = RandomNumberGenerator.GetBytes(1_000_000);
        var content = new StreamContent(new MemoryStream(payload));   // no length: sent chunked
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{origin.HttpPort}/echo") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Equal(payload, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_host_not_on_the_list_gets_403_and_the_refusal_names_host_and_port()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync("pypi.org");
        using var client = proxy.Client(trusted: origin.Certificate);

        var tunnel = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"https://localhost:{origin.HttpsPort}/hello"));
        using var plain = await client.GetAsync("http://example.com/");
        var (raw, head) = await proxy.SendHeadAsync("CONNECT Evil.Example.NET.:443 HTTP/1.1\r\n\r\n");
        var body = await Raw.ReadToEndAsync(raw);
        raw.Dispose();

        Assert.Equal(HttpStatusCode.Forbidden, plain.StatusCode);
        Assert.Contains("not on the egress allowlist", await plain.Content.ReadAsStringAsync());
        Assert.StartsWith("HTTP/1.1 403 Forbidden", head);
        Assert.Contains("Content-Type: text/plain", head);
        Assert.Equal("evil.example.net:443 is not on the egress allowlist (SANDBOX_EGRESS_ALLOW)\n", body);
        Assert.Equal(
            [("localhost", origin.HttpsPort), ("example.com", 80), ("evil.example.net", 443)],
            proxy.Refusals.Select(r => (r.Host, r.Port)));
        Assert.All(proxy.Refusals, r => Assert.Contains("not on the egress allowlist", r.Reason));
        Assert.Contains("403", tunnel.ToString());
    }

    [Fact]
    public async Task A_refusal_callback_that_fails_still_refuses_and_the_listener_goes_on()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(
            $"127.0.0.1:{origin.HttpPort}", onRefused: _ => throw new InvalidOperationException("the store is down"));
        using var client = proxy.Client();

        using var refused = await client.GetAsync("http://example.com/");
        var allowed = await client.GetStringAsync($"http://127.0.0.1:{origin.HttpPort}/hello");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.StartsWith("hello over http", allowed);
    }

    [Fact]
    public async Task Wildcard_and_port_rules_decide_before_anything_is_resolved_or_connected()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync($"*.example.invalid, 127.0.0.1:{origin.HttpPort}");

        // Allowed by the wildcard: the proxy goes on to resolve it (on the host), which fails: 502, not 403.
        var (sub, subHead) = await proxy.SendHeadAsync("CONNECT api.example.invalid:443 HTTP/1.1\r\n\r\n");
        var (bare, bareHead) = await proxy.SendHeadAsync("CONNECT example.invalid:443 HTTP/1.1\r\n\r\n");
        var (otherPort, otherPortHead) = await proxy.SendHeadAsync("CONNECT api.example.invalid:22 HTTP/1.1\r\n\r\n");
        var (listedPort, listedPortHead) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{origin.HttpPort} HTTP/1.1\r\n\r\n");
        var (unlistedPort, unlistedPortHead) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{origin.HttpsPort} HTTP/1.1\r\n\r\n");
        foreach (var socket in new[] { sub, bare, otherPort, listedPort, unlistedPort })
        {
            socket.Dispose();
        }

        Assert.StartsWith("HTTP/1.1 502", subHead);
        Assert.StartsWith("HTTP/1.1 403", bareHead);
        Assert.StartsWith("HTTP/1.1 403", otherPortHead);
        Assert.StartsWith("HTTP/1.1 200", listedPortHead);
        Assert.StartsWith("HTTP/1.1 403", unlistedPortHead);
        Assert.Equal(
            [("example.invalid", 443), ("api.example.invalid", 22), ("127.0.0.1", origin.HttpsPort)],
            proxy.Refusals.Select(r => (r.Host, r.Port)));
    }

    [Fact]
    public async Task An_ip_literal_is_refused_unless_that_address_is_listed()
    {
        await using var origin = await Origin.StartAsync();
        await using var byName = await ProxyUnderTest.StartAsync($"localhost:{origin.HttpPort}");
        await using var byAddress = await ProxyUnderTest.StartAsync($"127.0.0.1:{origin.HttpPort}");
        using var nameClient = byName.Client();
        using var addressClient = byAddress.Client();

        using var literal = await nameClient.GetAsync($"http://127.0.0.1:{origin.HttpPort}/hello");
        using var decimalForm = await nameClient.GetAsync($"http://2130706433:{origin.HttpPort}/hello");
        var named = await nameClient.GetStringAsync($"http://localhost:{origin.HttpPort}/hello");
        var listed = await addressClient.GetStringAsync($"http://127.0.0.1:{origin.HttpPort}/hello");

        Assert.Equal(HttpStatusCode.Forbidden, literal.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, decimalForm.StatusCode);
        Assert.Equal(["127.0.0.1", "127.0.0.1"], byName.Refusals.Select(r => r.Host));
        Assert.StartsWith("hello over http", named);
        Assert.StartsWith("hello over http", listed);
    }

    [Fact]
    public async Task The_gateway_alias_reaches_the_gateway_endpoint_on_any_port_without_an_allowlist_entry()
    {
        await using var origin = await Origin.StartAsync();
        var gateway = new EgressGateway("mosaic-gateway", new IPEndPoint(IPAddress.Loopback, origin.HttpPort));
        await using var proxy = await ProxyUnderTest.StartAsync("", gateway: gateway);
        using var client = proxy.Client();

        var plain = await client.GetStringAsync("http://mosaic-gateway:8080/hello");
        var (tunnel, head) = await proxy.SendHeadAsync("CONNECT MOSAIC-GATEWAY:443 HTTP/1.1\r\n\r\n");
        using var _ = tunnel;
        await tunnel.SendAsync("GET /hello HTTP/1.1\r\nHost: mosaic-gateway\r\nConnection: close\r\n\r\n"u8.ToArray());
        var tunnelled = await Raw.ReadToEndAsync(tunnel);
        using var elsewhere = await client.GetAsync($"http://127.0.0.1:{origin.HttpPort}/hello");

        Assert.Equal("hello over http to mosaic-gateway:8080", plain);
        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.StartsWith("HTTP/1.1 200", tunnelled);
        Assert.Contains("hello over http to mosaic-gateway", tunnelled);
        Assert.Equal(HttpStatusCode.Forbidden, elsewhere.StatusCode);   // the alias opens the gateway, nothing else
    }

    [Fact]
    public async Task None_refuses_even_the_model_host()
    {
        await using var proxy = await ProxyUnderTest.StartAsync("", rules: EgressRules.None);

        var (socket, head) = await proxy.SendHeadAsync("CONNECT api.anthropic.com:443 HTTP/1.1\r\n\r\n");
        var body = await Raw.ReadToEndAsync(socket);
        socket.Dispose();

        Assert.StartsWith("HTTP/1.1 403", head);
        Assert.Contains("no network (SANDBOX_NETWORK=none)", body);
    }

    [Theory]
    [InlineData("GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n", "this is a proxy")]
    [InlineData("GET https://example.com/ HTTP/1.1\r\n\r\n", "https goes through CONNECT")]
    [InlineData("CONNECT example.com HTTP/1.1\r\n\r\n", "CONNECT needs host:port")]
    [InlineData("CONNECT example.com:99999 HTTP/1.1\r\n\r\n", "not a port")]
    [InlineData("CONNECT ::1:443 HTTP/1.1\r\n\r\n", "brackets")]
    [InlineData("GET http://user:pw@example.com/ HTTP/1.1\r\n\r\n", "credentials")]
    [InlineData("GET http://exa%6dple.com/ HTTP/1.1\r\n\r\n", "not a host name")]
    [InlineData("GET  http://example.com/ HTTP/1.1\r\n\r\n", "request line")]
    [InlineData("GET http://example.com/ HTTP/2.0\r\n\r\n", "request line")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nBad Header: x\r\n\r\n", "header line")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nX: a\nY: b\r\n\r\n", "bare CR/LF")]
    [InlineData("GET http://example.com/ HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", "header line")]
    [InlineData("\u0016\u0003\u0001\u0002\u0000\u0001\r\n\r\n", "control characters")]
    public async Task Malformed_input_gets_400_and_a_reason(string head, string reason)
    {
        await using var proxy = await ProxyUnderTest.StartAsync("example.com");

        var (socket, answer) = await proxy.SendHeadAsync(head);
        var body = await Raw.ReadToEndAsync(socket);
        socket.Dispose();

        Assert.StartsWith("HTTP/1.1 400 Bad Request", answer);
        Assert.Contains(reason, body);
        Assert.Empty(proxy.Refusals);
    }

    [Fact]
    public async Task An_oversize_head_gets_431_and_the_connection_closes()
    {
        await using var proxy = await ProxyUnderTest.StartAsync("example.com", new EgressProxyOptions { MaxHeadBytes = 4096 });
        using var socket = await proxy.ConnectAsync();

        await socket.SendAsync(Encoding.ASCII.GetBytes("GET http://example.com/ HTTP/1.1\r\nX-Filler: " + new string('a', 6000)));
        var answer = await Raw.ReadToEndAsync(socket);

        Assert.StartsWith("HTTP/1.1 431 Request Header Fields Too Large", answer);
        Assert.Contains("larger than 4096 bytes", answer);
    }

    [Fact]
    public async Task A_head_that_never_finishes_is_answered_408_and_closed_after_the_timeout()
    {
        var time = new FakeTimeProvider();
        await using var proxy = await ProxyUnderTest.StartAsync("example.com", time: time);
        using var socket = await proxy.ConnectAsync();
        await socket.SendAsync("GET http://example.com/ HTTP/1.1\r\nX-Slow: "u8.ToArray());
        var answer = Raw.ReadToEndAsync(socket);
        var start = time.GetUtcNow();
        await Wait.UntilAsync(() => Advance(time, answer, TimeSpan.FromSeconds(1)), "the slow head to be answered");

        Assert.StartsWith("HTTP/1.1 408 Request Timeout", await answer);
        Assert.InRange(time.GetUtcNow() - start, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20)); // the 10 s default, not before
        await Wait.UntilAsync(() => proxy.Listener.OpenConnections == 0, "the slow connection to be gone");
    }

    [Fact]
    public async Task Connections_past_the_cap_get_503_until_one_closes()
    {
        await using var origin = await Origin.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync($"127.0.0.1:{origin.HttpPort}", new EgressProxyOptions { MaxConnections = 2 });
        using var first = await proxy.ConnectAsync();
        using var second = await proxy.ConnectAsync();
        await Wait.UntilAsync(() => proxy.Listener.OpenConnections == 2, "two open connections");

        // The answer comes without a request: the proxy closes at once, so the client may not get to send one.
        using var third = await proxy.ConnectAsync();
        var thirdAnswer = await Raw.ReadToEndAsync(third);
        first.Dispose();
        await Wait.UntilAsync(() => proxy.Listener.OpenConnections == 1, "the first connection to be gone");
        var (fourth, fourthHead) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{origin.HttpPort} HTTP/1.1\r\n\r\n");
        fourth.Dispose();

        Assert.StartsWith("HTTP/1.1 503 Service Unavailable", thirdAnswer);
        Assert.EndsWith("too many open connections through the proxy\n", thirdAnswer);
        Assert.StartsWith("HTTP/1.1 200", fourthHead);
    }

    [Fact]
    public async Task An_idle_tunnel_is_closed_on_both_sides_and_traffic_keeps_it_open()
    {
        using var upstream = new TcpListener(IPAddress.Loopback, 0);
        upstream.Start();
        var port = ((IPEndPoint)upstream.LocalEndpoint).Port;
        var time = new FakeTimeProvider();
        await using var proxy = await ProxyUnderTest.StartAsync($"127.0.0.1:{port}", time: time);
        var (tunnel, head) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");
        using var _ = tunnel;
        using var far = await upstream.AcceptSocketAsync();
        Assert.StartsWith("HTTP/1.1 200", head);

        // Four minutes, a byte, four more minutes: never five minutes without a byte, so the tunnel stays.
        time.Advance(TimeSpan.FromMinutes(4));
        await tunnel.SendAsync("x"u8.ToArray());
        Assert.Equal("x", Encoding.ASCII.GetString(await Raw.ReadExactlyAsync(far, 1)));
        time.Advance(TimeSpan.FromMinutes(4));
        await far.SendAsync("y"u8.ToArray());
        Assert.Equal("y", Encoding.ASCII.GetString(await Raw.ReadExactlyAsync(tunnel, 1)));

        // The clock stops on each side of the five minutes for as long as the proxy takes: a clock stepped until the
        // tunnel closed ran ahead of a loaded machine (5:30 where the deadline was 5:00). The deadline restarts when
        // the proxy reads "y", before it passes it on, so it runs from now.
        var closed = Raw.IsClosedAsync(tunnel);
        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(closed.IsCompleted, "the tunnel closed before five idle minutes");
        time.Advance(TimeSpan.FromSeconds(2));

        Assert.True(await closed.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(await Raw.IsClosedAsync(far));
    }

    [Fact]
    public async Task Clients_that_vanish_mid_head_or_mid_tunnel_leave_nothing_open()
    {
        using var upstream = new TcpListener(IPAddress.Loopback, 0);
        upstream.Start();
        var port = ((IPEndPoint)upstream.LocalEndpoint).Port;
        await using var proxy = await ProxyUnderTest.StartAsync($"127.0.0.1:{port}");

        var midHead = await proxy.ConnectAsync();
        await midHead.SendAsync("CONNECT 127.0.0.1:"u8.ToArray());
        var (tunnel, head) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");
        using var far = await upstream.AcceptSocketAsync();
        await Wait.UntilAsync(() => proxy.Listener.OpenConnections == 2, "both connections open");
        midHead.Close(0);
        tunnel.Close(0);

        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.True(await Raw.IsClosedAsync(far));
        await Wait.UntilAsync(() => proxy.Listener.OpenConnections == 0, "both connections gone");
        var (after, afterHead) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");
        after.Dispose();
        Assert.StartsWith("HTTP/1.1 200", afterHead);   // the listener goes on
    }

    [Fact]
    public async Task Disposing_the_listener_closes_open_tunnels_and_removes_the_socket()
    {
        using var upstream = new TcpListener(IPAddress.Loopback, 0);
        upstream.Start();
        var port = ((IPEndPoint)upstream.LocalEndpoint).Port;
        var proxy = await ProxyUnderTest.StartAsync($"127.0.0.1:{port}");
        var path = proxy.SocketPath;
        var (tunnel, head) = await proxy.SendHeadAsync($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n");
        using var _ = tunnel;
        using var far = await upstream.AcceptSocketAsync();
        using var waiting = await proxy.ConnectAsync();   // a connection still in its head
        Assert.StartsWith("HTTP/1.1 200", head);

        await proxy.Listener.DisposeAsync();

        Assert.True(await Raw.IsClosedAsync(tunnel));
        Assert.True(await Raw.IsClosedAsync(far));
        Assert.True(await Raw.IsClosedAsync(waiting));
        Assert.False(File.Exists(path));
        Assert.Equal(0, proxy.Listener.OpenConnections);
        await proxy.DisposeAsync();
    }

    [Fact]
    public async Task The_socket_is_connectable_by_any_user_and_a_stale_file_is_replaced()
    {
        var folder = Directory.CreateTempSubdirectory("egress-").FullName;
        try
        {
            var path = Path.Combine(folder, "egress.sock");
            await File.WriteAllTextAsync(path, "left over from a crash");
            var egress = new EgressProxy(new EgressProxyOptions(), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<EgressProxy>.Instance);

            await using (var listener = await egress.StartAsync(path, new EgressPolicy(EgressRules.None)))
            {
                var mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(path);
                Assert.Equal(UnixFileMode.OtherRead | UnixFileMode.OtherWrite, mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite));
                Assert.Equal(path, listener.SocketPath);
            }

            Assert.False(File.Exists(path));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A step of fake time per check until <paramref name="done"/>: a deadline fires within a step of when it is due.</summary>
    private static bool Advance(FakeTimeProvider time, Task done, TimeSpan step)
    {
        if (done.IsCompleted)
        {
            return true;
        }

        time.Advance(step);
        return false;
    }
}
