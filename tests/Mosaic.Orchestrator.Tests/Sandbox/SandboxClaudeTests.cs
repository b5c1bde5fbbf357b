using System.Text.Json;
using Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Sandbox;

/// <summary>
/// The real claude CLI inside the sandbox, against the fake Messages API on the host's loopback: the container has no
/// network, so every model call goes through the service's egress proxy (and the model gateway when it is on).
/// </summary>
[Collection(SandboxEngine.Collection)]
public sealed class SandboxClaudeTests
{
    [DockerTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Claude_in_the_sandbox_reaches_the_model_only_through_the_proxy_and_its_write_is_pushed(bool gateway)
    {
        using var outside = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        outside.Start();
        var outsidePort = ((System.Net.IPEndPoint)outside.LocalEndpoint).Port;
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s =>
        {
            s["SANDBOX_ENABLED"] = "true";
            s["DOCKER_SOCKET"] = SandboxEngine.Socket;
            s["SANDBOX_STOP_TIMEOUT_SECONDS"] = "2";
            s["MODEL_GATEWAY"] = gateway ? "true" : "false";
        });
        var remote = GitRemote.Create($"sandbox-claude-{gateway}");
        var id = await host.SpawnAsync($"T-sbx-claude-{gateway}", repository: remote.Bare);
        var worktree = await host.WorktreeOfAsync(id);
        api.Then(
            new FakeReply.ToolUse("Bash", new { command = $"curl -sf -m 5 http://127.0.0.1:{outsidePort}/ > outside.txt 2>&1; echo $? > outside-exit.txt", description = "reach out" }),
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(worktree, "hello.txt"), content = "hello from the sandbox\n" }),
            new FakeReply.Text("I wrote hello.txt."));

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Equal("hello from the sandbox\n", remote.Show(branch, "hello.txt"));
        // curl went to the proxy (HTTP_PROXY), which refused a host that is not on the allowlist...
        Assert.NotEqual("0", remote.Show(branch, "outside-exit.txt").Trim());
        var refused = status.GetProperty("egressRefused");
        Assert.True(refused.GetProperty("count").GetInt32() >= 1, status.GetRawText());
        Assert.Contains($"127.0.0.1:{outsidePort}", refused.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()));
        // ...while every model call reached the fake API with the real key (the gateway swapped it in, or the CLI had it).
        Assert.Equal(3, api.Requests.Count);
        Assert.All(api.Requests, r => Assert.Equal(api.ApiKey, r.ApiKey));
        Assert.Equal(gateway, status.GetProperty("run").TryGetProperty("metered", out var metered) && metered.GetBoolean());
    }
}
