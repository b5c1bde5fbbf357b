using System.Net.Sockets;
using System.Text;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

/// <summary>HTTP framing that breaks while an endpoint reads the body (raw socket, real Kestrel).</summary>
public sealed class MalformedFramingTests
{
    [Theory]
    [InlineData("/agents/spawn")]
    [InlineData("/agents/spawn/batch")]
    public async Task A_chunked_body_with_a_bad_chunk_size_is_a_400_problem_not_a_500(string path)
    {
        await using var host = await TestHost.StartAsync(withoutWorker: true);
        using var client = new TcpClient();
        await client.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"));
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 400 ", answer);
        Assert.Contains("application/problem+json", answer);
        Assert.Contains("chunk", answer, StringComparison.OrdinalIgnoreCase);
    }
}
