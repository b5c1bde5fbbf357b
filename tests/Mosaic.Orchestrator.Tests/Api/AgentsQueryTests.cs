using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class AgentsQueryTests
{
    [Fact]
    public async Task Status_of_an_unknown_or_malformed_id_is_404_problem()
    {
        await using var host = await TestHost.StartAsync();
        foreach (var id in new[] { Guid.NewGuid().ToString(), "not-a-guid" })
        {
            using var response = await host.Client.GetAsync($"/agents/{id}/status");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains(id, problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task List_filters_by_status_and_task_and_pages_newest_first()
    {
        await using var host = await TestHost.StartAsync();
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await host.SpawnAsync($"T-list-{i}"));
        }

        using (await host.Client.PostAsync($"/agents/{ids[1]}/kill", null))
        {
        }

        var page = await host.Client.GetFromJsonAsync<JsonElement>("/agents?limit=2&offset=1");
        Assert.Equal(5, page.GetProperty("total").GetInt32());
        Assert.Equal(2, page.GetProperty("limit").GetInt32());
        Assert.Equal(1, page.GetProperty("offset").GetInt32());
        Assert.Equal([ids[3], ids[2]], page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("agentId").GetGuid()));

        var killed = await host.Client.GetFromJsonAsync<JsonElement>("/agents?status=killed");
        Assert.Equal([ids[1]], killed.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("agentId").GetGuid()));

        var spawning = await host.Client.GetFromJsonAsync<JsonElement>("/agents?status=SPAWNING");
        Assert.Equal(4, spawning.GetProperty("total").GetInt32());

        var byTask = await host.Client.GetFromJsonAsync<JsonElement>("/agents?taskId=T-list-4");
        Assert.Equal([ids[4]], byTask.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("agentId").GetGuid()));
    }

    [Fact]
    public async Task Bad_list_parameters_are_named()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.Client.GetAsync("/agents?status=dead&limit=0&offset=-1");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["limit", "offset", "status"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());

        using var audit = await host.Client.GetAsync("/agents/audit?limit=5000&offset=x");
        Assert.Equal(HttpStatusCode.BadRequest, audit.StatusCode);
        var auditProblem = await audit.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["limit", "offset"], auditProblem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task Queue_stats_pause_and_resume()
    {
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "sleep 30");
        using var paused = await host.Client.PostAsync("/agents/queue/pause", null);
        var stats = await paused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(stats.GetProperty("paused").GetBoolean());

        var a = await host.SpawnAsync("T-stats-a");
        var b = await host.SpawnAsync("T-stats-b");
        stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(2, stats.GetProperty("pending").GetInt32());
        Assert.Equal(0, stats.GetProperty("active").GetInt32());

        using var resumed = await host.Client.PostAsync("/agents/queue/resume", null);
        Assert.False((await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean());
        await host.Events.WaitForAsync(a, "agent.running");
        await host.Events.WaitForAsync(b, "agent.running");
        stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(2, stats.GetProperty("active").GetInt32());
        Assert.Equal(0, stats.GetProperty("pending").GetInt32());

        using (await host.Client.PostAsync("/agents/kill-all", null))
        {
        }

        stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal((0, 2), (stats.GetProperty("failed").GetInt32(), stats.GetProperty("killed").GetInt32()));
        var audit = await host.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
        Assert.Equal(["kill", "kill", "queue.resume", "queue.pause"], audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(4, audit.GetProperty("total").GetInt32());
        Assert.Equal(100, audit.GetProperty("limit").GetInt32());
        Assert.Equal(0, audit.GetProperty("offset").GetInt32());

        // The same envelope as GET /agents: a page further on still counts every entry.
        var page = await host.Client.GetFromJsonAsync<JsonElement>("/agents/audit?limit=2&offset=1");
        Assert.Equal(["kill", "queue.resume"], page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(4, page.GetProperty("total").GetInt32());
        Assert.Equal(2, page.GetProperty("limit").GetInt32());
        Assert.Equal(1, page.GetProperty("offset").GetInt32());
    }
}
