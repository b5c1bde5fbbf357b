using System.Text;
using System.Text.Json;

namespace Mosaic.Orchestrator.Bench;

/// <summary>One bench agent, spawned over HTTP and followed to its end (completed, or the bench stops with why not).</summary>
internal static class BenchAgent
{
    /// <summary>Spawns a worker on <paramref name="repository"/>'s main, waits for it to complete; returns its id and when the spawn was sent (Unix ns).</summary>
    public static async Task<(string AgentId, long SentNs)> RunAsync(HttpClient client, string repository, string taskId)
    {
        var body = JsonSerializer.Serialize(new { taskId, agentType = "worker", context = new { repository, branch = "main" } });
        var sentNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        using var response = await client.PostAsync("/agents/spawn", new StringContent(body, Encoding.UTF8, "application/json"));
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var agentId = answer.RootElement.TryGetProperty("agentId", out var id) ? id.GetString()! : throw new InvalidOperationException(answer.RootElement.ToString());
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            using var status = JsonDocument.Parse(await client.GetStringAsync($"/agents/{agentId}/status"));
            var state = status.RootElement.GetProperty("status").GetString();
            if (state is "completed")
            {
                return (agentId, sentNs);
            }

            if (state is "failed" or "killed")
            {
                throw new InvalidOperationException($"bench agent {taskId} ended {state}: {status.RootElement}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"bench agent {taskId} did not finish");
            }

            await Task.Delay(10);
        }
    }
}
