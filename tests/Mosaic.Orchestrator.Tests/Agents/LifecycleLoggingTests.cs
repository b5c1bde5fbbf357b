using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Agents;

/// <summary>At the default log level an operator reading the service's output sees each agent spawn, start, end and die.</summary>
public sealed class LifecycleLoggingTests
{
    [Fact]
    public async Task The_real_service_logs_each_agents_lifecycle_with_its_agent_and_task()
    {
        var remote = GitRemote.Create("logging");
        await using var service = ServiceProcess.Start([], new Dictionary<string, string?>
        {
            ["ORCHESTRATOR_PORT"] = "0",
            ["DATA_DIR"] = TempDirectory.Create("logging"),
            ["AGENT_RUNTIME"] = "command",
            ["AGENT_COMMAND"] = "if [ \"$MOSAIC_TASK_ID\" = T-log-kill ]; then sleep 60; fi; echo hi > hi.txt",
            ["ALLOW_LOCAL_REPOSITORIES"] = "true",
            ["KILL_GRACE_SECONDS"] = "2",
        });
        using var client = new HttpClient { BaseAddress = await service.WaitForListeningAsync() };

        var done = await SpawnAsync(client, "T-log-done", remote.Bare);
        await WaitForStatusAsync(client, done, "completed");
        var killed = await SpawnAsync(client, "T-log-kill", remote.Bare);
        await WaitForStatusAsync(client, killed, "running");
        using (await client.PostAsync($"/agents/{killed}/kill", null))
        {
        }

        await Wait.UntilAsync(() => service.Output.Contains($"Agent {killed} (task T-log-kill) killed", StringComparison.Ordinal), "the kill in the log");
        var output = service.Output;
        Assert.Contains($"Agent {done} (task T-log-done) spawned", output);
        Assert.Contains($"Agent {done} (task T-log-done) started attempt 1 on branch agent/T-log-done-", output);
        Assert.Contains($"Agent {done} (task T-log-done) completed after 1 attempt(s); pushed agent/T-log-done-", output);
        Assert.Contains($"Agent {killed} (task T-log-kill) killed by anonymous", output);
    }

    private static async Task<Guid> SpawnAsync(HttpClient client, string taskId, string repository)
    {
        using var spawned = await client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody(taskId, repository: repository)));
        return (await spawned.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("agentId").GetGuid();
    }

    private static Task WaitForStatusAsync(HttpClient client, Guid agentId, string status) =>
        Wait.UntilAsync(async () =>
            (await client.GetFromJsonAsync<JsonElement>($"/agents/{agentId}/status")).GetProperty("status").GetString() == status,
            $"agent {agentId} to be {status}");
}
