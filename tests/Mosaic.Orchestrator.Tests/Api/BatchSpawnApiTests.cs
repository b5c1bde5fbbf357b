using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class BatchSpawnApiTests
{
    private static StringContent Batch(IEnumerable<string> bodies) => TestHost.Json($"{{\"items\":[{string.Join(",", bodies)}]}}");

    private static async Task<JsonElement> AgentsAsync(TestHost host) =>
        await host.Client.GetFromJsonAsync<JsonElement>("/agents?limit=500");

    [Fact]
    public async Task Each_entry_is_answered_on_its_own_in_order_and_only_the_accepted_ones_are_queued()
    {
        await using var host = await TestHost.StartAsync(withoutWorker: true);
        var live = await host.SpawnAsync("T-live");

        using var response = await host.Client.PostAsync("/agents/spawn/batch", Batch(
        [
            TestHost.SpawnBody("T-a"),
            """{"taskId":"has space","priority":11,"context":{"repository":"ext::sh","branch":"main"}}""",
            TestHost.SpawnBody("T-live"),
            TestHost.SpawnBody("T-b", priority: 9, agentType: "tester"),
            TestHost.SpawnBody("T-a"), // the same task as entry 0: that entry went first, so this one is the duplicate
        ]));

        Assert.Equal(HttpStatusCode.MultiStatus, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var items = body.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2, 3, 4], items.Select(i => i.GetProperty("index").GetInt32()));
        Assert.Equal([202, 400, 409, 202, 409], items.Select(i => i.GetProperty("status").GetInt32()));
        Assert.Equal((2, 3), (body.GetProperty("accepted").GetInt32(), body.GetProperty("refused").GetInt32()));

        Assert.False(items[0].TryGetProperty("problem", out _));
        Assert.False(items[1].TryGetProperty("agentId", out _));
        var invalid = items[1].GetProperty("problem");
        Assert.Equal(400, invalid.GetProperty("status").GetInt32());
        Assert.Equal(["agentType", "context.repository", "priority", "taskId"],
            invalid.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
        Assert.Contains("Entry 1", invalid.GetProperty("detail").GetString());
        Assert.Equal(live, items[2].GetProperty("problem").GetProperty("agentId").GetGuid());
        Assert.Equal(items[0].GetProperty("agentId").GetGuid(), items[4].GetProperty("problem").GetProperty("agentId").GetGuid());

        var b = await host.StatusAsync(items[3].GetProperty("agentId").GetGuid());
        Assert.Equal(("T-b", "tester", 9, "spawning"),
            (b.GetProperty("taskId").GetString(), b.GetProperty("agentType").GetString(), b.GetProperty("priority").GetInt32(), b.GetProperty("status").GetString()));
        var agents = await AgentsAsync(host);
        Assert.Equal(3, agents.GetProperty("total").GetInt32());
        Assert.Equal(["T-live", "T-a", "T-b"], agents.GetProperty("items").EnumerateArray().Reverse().Select(a => a.GetProperty("taskId").GetString()));
        Assert.Equal(3, host.Events.All.Count(e => e.Type == "agent.spawned"));
    }

    [Fact]
    public async Task A_batch_of_1000_is_202_and_queued_in_order_and_1001_is_a_400_that_queues_nothing()
    {
        await using var host = await TestHost.StartAsync(withoutWorker: true);
        // 1,001 bodies are about 230 KB: over MAX_REQUEST_BODY_BYTES (64 KiB) and under MAX_BATCH_BODY_BYTES (4 MiB).
        using var tooMany = await host.Client.PostAsync("/agents/spawn/batch", Batch(Enumerable.Range(0, 1001).Select(i => TestHost.SpawnBody($"T-over-{i}"))));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        var problem = await tooMany.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["items"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
        Assert.Contains("at most 1000", problem.GetProperty("detail").GetString());
        Assert.Equal(0, (await AgentsAsync(host)).GetProperty("total").GetInt32());

        using var response = await host.Client.PostAsync("/agents/spawn/batch", Batch(Enumerable.Range(0, 1000).Select(i => TestHost.SpawnBody($"T-{i}"))));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((1000, 0), (body.GetProperty("accepted").GetInt32(), body.GetProperty("refused").GetInt32()));
        Assert.All(body.GetProperty("items").EnumerateArray(), i => Assert.Equal(202, i.GetProperty("status").GetInt32()));
        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(1000, stats.GetProperty("pending").GetInt32());
        // Arrival order is the batch's order: the newest is the last entry.
        var newest = await host.Client.GetFromJsonAsync<JsonElement>("/agents?limit=2");
        Assert.Equal(["T-999", "T-998"], newest.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("taskId").GetString()));
    }

    [Fact]
    public async Task The_batch_has_its_own_body_limit_announced_or_not_and_other_routes_keep_theirs()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["MAX_REQUEST_BODY_BYTES"] = "2048";
            s["MAX_BATCH_BODY_BYTES"] = "8192";
        }, withoutWorker: true);
        var fits = Enumerable.Range(0, 12).Select(i => TestHost.SpawnBody($"T-fit-{i}")).ToArray(); // about 2.8 KB
        Assert.InRange(Encoding.UTF8.GetByteCount(string.Join(",", fits)), 2049, 8000);
        using (var accepted = await host.Client.PostAsync("/agents/spawn/batch", Batch(fits)))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        // Each refused body on a connection of its own: Kestrel closes a connection whose body it refused.
        var single = TestHost.SpawnBody("T-single").Replace("US-001", new string('x', 3000), StringComparison.Ordinal);
        using (var client = new HttpClient { BaseAddress = host.BaseAddress })
        using (var refused = await client.PostAsync("/agents/spawn", TestHost.Json(single)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        }

        var big = Enumerable.Range(0, 50).Select(i => TestHost.SpawnBody($"T-big-{i}")).ToArray(); // about 12 KB
        using var announcedClient = new HttpClient { BaseAddress = host.BaseAddress };
        using var announced = await announcedClient.PostAsync("/agents/spawn/batch", Batch(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, announced.StatusCode);
        Assert.Contains("MAX_BATCH_BODY_BYTES (8192 bytes)", (await announced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($"{{\"items\":[{string.Join(",", big)}]}}")));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/agents/spawn/batch") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var fresh = new HttpClient { BaseAddress = host.BaseAddress };
        using var unannounced = await fresh.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, unannounced.StatusCode);
        using var after = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal(12, (await after.GetFromJsonAsync<JsonElement>("/agents?limit=500")).GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("[]", "body")]
    [InlineData("""{"items":{}}""", "body")]
    [InlineData("""{"items":[]}""", "items")]
    public async Task A_batch_that_is_not_items_of_spawn_bodies_is_a_400_for_the_whole_batch(string json, string field)
    {
        await using var host = await TestHost.StartAsync(withoutWorker: true);
        using var response = await host.Client.PostAsync("/agents/spawn/batch", TestHost.Json(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task While_the_runtime_is_unusable_the_whole_batch_is_503_and_nothing_is_queued()
    {
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = null, withoutWorker: true);
        using var response = await host.Client.PostAsync("/agents/spawn/batch", Batch([TestHost.SpawnBody("T-1"), """{"taskId":"T-2"}"""]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(10), response.Headers.RetryAfter?.Delta);
        Assert.Contains("Nothing was queued", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(0, (await AgentsAsync(host)).GetProperty("total").GetInt32());
        Assert.Empty(host.Events.All);
    }

    [Fact]
    public async Task When_the_queue_fills_part_way_the_rest_are_429_with_retry_after()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["MAX_QUEUED_TASKS"] = "2";
            s["QUEUE_FULL_RETRY_AFTER_SECONDS"] = "7";
        }, withoutWorker: true);
        using var response = await host.Client.PostAsync("/agents/spawn/batch", Batch(Enumerable.Range(0, 4).Select(i => TestHost.SpawnBody($"T-{i}"))));
        Assert.Equal(HttpStatusCode.MultiStatus, response.StatusCode);
        Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([202, 202, 429, 429], body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("status").GetInt32()));
        Assert.Equal(2, (await AgentsAsync(host)).GetProperty("total").GetInt32());
    }
}
