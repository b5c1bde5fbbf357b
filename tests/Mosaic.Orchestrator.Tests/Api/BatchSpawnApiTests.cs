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
    public async Task A_batch_of_1000_mixed_entries_answers_each_as_a_single_spawn_would_and_stores_and_publishes_only_the_queued()
    {
        await using var host = await TestHost.StartAsync(s => s["MAX_QUEUED_TASKS"] = "850", withoutWorker: true);
        var live = new Dictionary<string, Guid>();
        for (var i = 0; i < 5; i++)
        {
            live[$"L-{i}"] = await host.SpawnAsync($"L-{i}");
        }

        // Invalid bodies, tasks with a live agent, tasks of earlier entries (some of them refused, so not live) and new
        // tasks; the queue fills before the end.
        var bodies = Enumerable.Range(0, 1000).Select(i =>
            i % 17 == 3 ? $$$"""{"taskId":"bad {{{i}}}","agentType":"worker","priority":{{{(i % 3 == 0 ? 0 : 5)}}},"context":{"repository":"ext::sh","branch":"main"}}""" :
            i % 40 == 9 ? TestHost.SpawnBody($"L-{i / 40 % 5}") :
            i % 11 == 2 && i > 11 ? TestHost.SpawnBody($"B-{i - 11}", priority: 1 + i % 10) :
            TestHost.SpawnBody($"B-{i}", priority: 1 + i % 10, agentType: i % 2 == 0 ? "worker" : "reviewer")).ToArray();
        var expected = new List<(int Status, string? Task)>();
        var waiting = live.Count;
        foreach (var body in bodies)
        {
            var task = JsonDocument.Parse(body).RootElement.GetProperty("taskId").GetString()!;
            if (task.StartsWith("bad", StringComparison.Ordinal))
            {
                expected.Add((400, null));
            }
            else if (live.ContainsKey(task))
            {
                expected.Add((409, task));
            }
            else if (waiting >= 850)
            {
                expected.Add((429, null));
            }
            else
            {
                live[task] = Guid.Empty; // its id comes with the answer
                waiting++;
                expected.Add((202, task));
            }
        }

        Assert.Equal([202, 400, 409, 429], expected.Select(e => e.Status).Distinct().Order());
        using var response = await host.Client.PostAsync("/agents/spawn/batch", Batch(bodies));

        Assert.Equal(HttpStatusCode.MultiStatus, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        var items = answer.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(0, 1000), items.Select(i => i.GetProperty("index").GetInt32()));
        Assert.Equal(expected.Select(e => e.Status), items.Select(i => i.GetProperty("status").GetInt32()));
        var accepted = expected.Count(e => e.Status == 202);
        Assert.Equal((accepted, 1000 - accepted), (answer.GetProperty("accepted").GetInt32(), answer.GetProperty("refused").GetInt32()));
        for (var i = 0; i < items.Length; i++)
        {
            if (expected[i].Status == 202)
            {
                live[expected[i].Task!] = items[i].GetProperty("agentId").GetGuid();
                Assert.False(items[i].TryGetProperty("problem", out _));
                continue;
            }

            Assert.False(items[i].TryGetProperty("agentId", out _));
            var problem = items[i].GetProperty("problem");
            Assert.Equal(expected[i].Status, problem.GetProperty("status").GetInt32());
            switch (expected[i].Status)
            {
                case 400:
                    Assert.Equal(i % 3 == 0 ? ["context.repository", "priority", "taskId"] : ["context.repository", "taskId"],
                        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
                    Assert.Contains($"Entry {i} ", problem.GetProperty("detail").GetString());
                    break;
                case 409:
                    Assert.Equal(live[expected[i].Task!], problem.GetProperty("agentId").GetGuid());
                    break;
            }
        }

        Assert.Equal("30", response.Headers.GetValues("Retry-After").Single());
        var queued = expected.Select((e, i) => (e, i)).Where(x => x.e.Status == 202)
            .Select(x => (Task: x.e.Task!, Id: items[x.i].GetProperty("agentId").GetGuid(), Body: JsonDocument.Parse(bodies[x.i]).RootElement)).ToArray();
        var stored = new List<JsonElement>();
        for (var offset = 0; offset < 850; offset += 500)
        {
            var page = await host.Client.GetFromJsonAsync<JsonElement>($"/agents?limit=500&offset={offset}");
            stored.AddRange(page.GetProperty("items").EnumerateArray());
        }

        stored.Reverse(); // the list is newest first
        Assert.Equal([.. live.Keys.Take(5).Select(t => (t, live[t])), .. queued.Select(q => (q.Task, q.Id))],
            stored.Select(a => (a.GetProperty("taskId").GetString()!, a.GetProperty("agentId").GetGuid())));
        Assert.All(queued.Zip(stored.Skip(5)), pair => Assert.Equal(
            (pair.First.Body.GetProperty("priority").GetInt32(), pair.First.Body.GetProperty("agentType").GetString(), "spawning"),
            (pair.Second.GetProperty("priority").GetInt32(), pair.Second.GetProperty("agentType").GetString(), pair.Second.GetProperty("status").GetString())));

        var spawned = await WaitForSpawnedAsync(host, 5 + queued.Length);
        Assert.Equal(queued.Select(q => q.Id), spawned.Skip(5).Select(e => e.AgentId));
        Assert.Equal(spawned.Select(e => e.Id).Order(), spawned.Select(e => e.Id));
        var data = spawned[^1].Data!.Value;
        Assert.Equal(["agentType", "gateProfile", "priority"], data.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal((queued[^1].Body.GetProperty("agentType").GetString(), queued[^1].Body.GetProperty("priority").GetInt32(),
            queued[^1].Body.GetProperty("agentType").GetString() == "reviewer" ? "strict" : "standard"),
            (data.GetProperty("agentType").GetString(), data.GetProperty("priority").GetInt32(), data.GetProperty("gateProfile").GetString()));
        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(850, stats.GetProperty("pending").GetInt32());
    }

    private static async Task<IReadOnlyList<Mosaic.Orchestrator.Events.AgentEvent>> WaitForSpawnedAsync(TestHost host, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (host.Events.All.Count(e => e.Type == "agent.spawned") < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return [.. host.Events.All.Where(e => e.Type == "agent.spawned")];
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
