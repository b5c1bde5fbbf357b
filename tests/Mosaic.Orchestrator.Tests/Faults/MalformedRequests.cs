using System.Net.Sockets;
using System.Text;

namespace Mosaic.Orchestrator.Tests.Faults;

/// <summary>Hostile request bodies, paths and queries sent with HttpClient; the answer's status (0 when the connection was dropped).</summary>
internal static class MalformedHttp
{
    private const string Context = "\"context\":{\"repository\":\"/tmp/none.git\",\"branch\":\"main\",\"workItems\":[\"US-1\"],\"skills\":[]}";

    public static async Task<(string Shape, int Status)> SendAsync(HttpClient client, int i, Random random)
    {
        var (shape, request) = Build(i, random);
        try
        {
            using (request)
            using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
            {
                return (shape, (int)response.StatusCode);
            }
        }
        catch (HttpRequestException)
        {
            return (shape, 0);
        }
        catch (TaskCanceledException)
        {
            return (shape, 0);
        }
    }

    private static (string, HttpRequestMessage) Build(int i, Random random) => (i / 10 % 9) switch
    {
        0 => ("random bytes", Post("/agents/spawn", RandomBytes(random, random.Next(1, 4096)))),
        1 => ("invalid UTF-8 in a string", Post(random.Next(2) == 0 ? "/agents/spawn" : "/agents/spawn/batch", InvalidUtf8(random))),
        2 => ("deep nesting", Post(random.Next(2) == 0 ? "/agents/spawn" : "/agents/spawn/batch", Deep(random))),
        3 => ("huge numbers", Post("/agents/spawn", Encoding.UTF8.GetBytes(
            $"{{\"taskId\":\"T-{i}\",\"agentType\":\"worker\",\"priority\":{Pick(random, "1e400", "-1e400", "99999999999999999999999999", "1.5", "-0", "0x10", "1E+2147483648", new string('9', 5000))},{Context}}}"))),
        4 => ("wrong types", Post("/agents/spawn", Encoding.UTF8.GetBytes(WrongTypes(i, random)))),
        5 => ("batch shapes", Post("/agents/spawn/batch", Encoding.UTF8.GetBytes(Pick(random,
            "{\"items\":{}}", "{\"items\":[1,2,\"x\"]}", "{\"items\":null}", "[]", "{\"items\":[[[[]]]]}", "{\"items\":[" + string.Join(',', Enumerable.Repeat("{}", 1001)) + "]}",
            "{\"items\":[{\"taskId\":\"\\ud800\"}]}", "{}")))),
        6 => ("bad paths and queries", new HttpRequestMessage(HttpMethod.Get, Pick(random,
            $"/agents/{Guid.NewGuid()}/status", "/agents/not-a-guid/status", "/agents?limit=-5&offset=abc", "/agents?limit=99999999999999999999",
            "/agents?status=%FF%FE", "/agents/%00/status", "/agents/" + new string('a', 6000), "/agents/audit?limit=1e9", "/agents/x/logs?attempt=-1",
            $"/agents/{Guid.NewGuid()}/diff", "/agents/queue/stats?%zz", "/health/ready/..%2f..%2f", "/agents?taskId=" + new string('%', 100)))),
        7 => ("wrong methods and content types", WrongContent(i, random)),
        _ => ("kill and resume bodies", Post(Pick(random, $"/agents/{Guid.NewGuid()}/kill", $"/agents/{Guid.NewGuid()}/resume", "/agents/kill-all"),
            Pick(random, RandomBytes(random, 64), Encoding.UTF8.GetBytes("{\"reason\":5}"), Encoding.UTF8.GetBytes("{\"reason\":\"\\udfff\"}"), [0xFF, 0xFE], Deep(random)))),
    };

    private static HttpRequestMessage Post(string path, byte[] body, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    private static HttpRequestMessage WrongContent(int i, Random random) => random.Next(6) switch
    {
        0 => new HttpRequestMessage(HttpMethod.Put, "/agents/spawn"),
        1 => Post("/agents/spawn", Encoding.UTF8.GetBytes($"{{\"taskId\":\"T-{i}\"}}"), "text/plain"),
        2 => Post("/agents/spawn", Encoding.Unicode.GetBytes($"{{\"taskId\":\"T-{i}\"}}"), "application/json; charset=utf-16"),
        3 => Post("/agents/spawn", [], "application/json"),
        4 => Post("/agents/spawn", Encoding.UTF8.GetBytes("{}"), "application/json; charset=\u00ff"),
        _ => new HttpRequestMessage(HttpMethod.Delete, "/agents"),
    };

    private static string WrongTypes(int i, Random random) => random.Next(8) switch
    {
        0 => $"{{\"taskId\":5,\"agentType\":\"worker\",{Context}}}",
        1 => $"{{\"taskId\":\"T-{i}\",\"agentType\":7,{Context}}}",
        2 => $"{{\"taskId\":\"T-{i}\",\"agentType\":\"worker\",\"context\":\"x\"}}",
        3 => $"{{\"taskId\":\"T-{i}\",\"agentType\":\"worker\",\"context\":{{\"repository\":[],\"branch\":{{}},\"workItems\":\"x\",\"skills\":5}}}}",
        4 => $"{{\"taskId\":\"T-{i}\",\"agentType\":\"worker\",\"priority\":\"high\",{Context}}}",
        5 => $"{{\"taskId\":null,\"agentType\":null,\"context\":null}}",
        6 => $"{{\"taskId\":\"T-{i}\",\"taskId\":\"T-dup\",\"agentType\":\"worker\",{Context}}}",
        _ => $"[\"taskId\",\"T-{i}\"]",
    };

    private static byte[] InvalidUtf8(Random random)
    {
        byte[][] bad = [[0xED, 0xA0, 0x80], [0xFF], [0xC3], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF], [0xE0, 0x80]];
        var prefix = Encoding.UTF8.GetBytes("{\"taskId\":\"T-");
        var rest = Encoding.UTF8.GetBytes($"\",\"agentType\":\"worker\",{Context}}}");
        return [.. prefix, .. bad[random.Next(bad.Length)], .. rest];
    }

    private static byte[] Deep(Random random)
    {
        var depth = Pick(random, 65, 1000, 100_000);
        var open = random.Next(2) == 0 ? '[' : '{';
        var body = open == '['
            ? new string('[', depth) + new string(']', depth)
            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        return Encoding.UTF8.GetBytes("{\"taskId\":" + body + "}");
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random random, params T[] choices) => choices[random.Next(choices.Length)];
}

/// <summary>Header and framing abuse that HttpClient will not send, written on a raw socket; the status line's code (0 when none came).</summary>
internal static class MalformedWire
{
    public static async Task<(string Shape, int Status)> SendAsync(Uri address, int i, Random random)
    {
        var request = (i / 10 % 10) switch
        {
            0 => $"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 70_000)}\r\n\r\n",
            1 => "GET /health HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 500).Select(n => $"X-H{n}: v\r\n")) + "\r\n",
            2 => "GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
            3 => "POST /agents/spawn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}",
            4 => "POST /agents/spawn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
            5 => "POST /agents/spawn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            6 => "GET /agents HTTP/1.1\r\nHost: x\r\nX-API-Key: \u0001\u0002\u007f\r\n\r\n",
            7 => "GET /agents HTTP/1.1\r\nHost: x\r\nX-API-Key: " + new string('k', 10_000) + "\r\nLast-Event-ID: -99999999999999999999\r\n\r\n",
            8 => "GET /agents HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\n\r\n",
            _ => "POST /agents/spawn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"taskId\":", // then the client goes
        };
        var bytes = (i / 10 % 10) == 6 || random.Next(4) > 0 ? Encoding.Latin1.GetBytes(request) : [.. Encoding.Latin1.GetBytes(request), 0xFF, 0x00];
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await client.ConnectAsync(address.Host, address.Port, timeout.Token);
            using var stream = client.GetStream();
            await stream.WriteAsync(bytes, timeout.Token);
            if ((i / 10 % 10) == 9)
            {
                client.Client.Shutdown(SocketShutdown.Send); // half a body, then gone
            }

            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            var line = Encoding.ASCII.GetString(buffer, 0, read);
            return ("header abuse", line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9, 3), out var status) ? status : 0);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            return ("header abuse", 0);
        }
    }
}
