using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class SpawnApiTests
{
    [Fact]
    public async Task Spawn_answers_202_with_agent_id_and_spawning_and_the_record_exists()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-202", priority: 7, agentType: "tester")));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("spawning", body.GetProperty("status").GetString());
        var id = body.GetProperty("agentId").GetGuid();
        Assert.Equal($"/agents/{id}/status", response.Headers.Location?.ToString());

        await host.Events.WaitForAsync(id, "agent.completed");
        var status = await host.StatusAsync(id);
        Assert.Equal("T-202", status.GetProperty("taskId").GetString());
        Assert.Equal("tester", status.GetProperty("agentType").GetString());
        Assert.Equal("minimal", status.GetProperty("gateProfile").GetString());
        Assert.Equal(7, status.GetProperty("priority").GetInt32());
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.Equal("completed", status.GetProperty("taskState").GetString());
        Assert.Equal(0, status.GetProperty("exitCode").GetInt32());
        Assert.True(status.TryGetProperty("startedAt", out _));
        Assert.True(status.TryGetProperty("completedAt", out _));
        Assert.Equal(["US-001"], status.GetProperty("context").GetProperty("workItems").EnumerateArray().Select(e => e.GetString()));
        Assert.False(status.TryGetProperty("lease", out _));
        Assert.Equal(
            ["agent.spawned", "agent.running", "agent.gate", "agent.completed", "agent.cleanup"],
            (await WaitForCleanup(host, id)).Select(e => e.Type));
        // The minimal profile's one gate, tests, has no command in this repository: recorded, and it passes.
        var gate = Assert.Single(status.GetProperty("gates").EnumerateArray());
        Assert.Equal(("tests", "not-configured", true), (gate.GetProperty("gate").GetString(), gate.GetProperty("status").GetString(), gate.GetProperty("passed").GetBoolean()));
    }

    private static async Task<IReadOnlyList<Mosaic.Orchestrator.Events.AgentEvent>> WaitForCleanup(TestHost host, Guid id)
    {
        await host.Events.WaitForAsync(id, "agent.cleanup");
        return host.Events.For(id);
    }

    [Fact]
    public async Task Every_bad_field_is_named_in_one_problem_and_nothing_is_queued()
    {
        await using var host = await TestHost.StartAsync();
        const string body = """
            {"taskId":"has space","agentType":"manager","gateProfile":"lax","priority":11,
             "context":{"repository":"ext::sh -c touch% /tmp/pwned","branch":"-evil","workItems":"US-1","skills":[1]}}
            """;
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.Equal(
            new[] { "agentType", "context.branch", "context.repository", "context.skills", "context.workItems", "gateProfile", "priority", "taskId" },
            fields);
        Assert.Contains("Nothing was queued", problem.GetProperty("detail").GetString());
        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(0, stats.GetProperty("pending").GetInt32());
        var list = await host.Client.GetFromJsonAsync<JsonElement>("/agents");
        Assert.Equal(0, list.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("{}", new[] { "agentType", "context", "taskId" })]
    [InlineData("""{"taskId":"","agentType":"worker","context":{}}""", new[] { "context.branch", "context.repository", "taskId" })]
    [InlineData("""{"taskId":5,"agentType":"WORKER","priority":"high","context":{"repository":"/srv/repo","branch":"main"}}""", new[] { "agentType", "context.repository", "priority", "taskId" })]
    [InlineData("""{"taskId":"T","agentType":"worker","priority":2.5,"context":{"repository":"file:///srv/repo","branch":"a b"}}""", new[] { "context.branch", "context.repository", "priority" })]
    [InlineData("""{"taskId":"T","agentType":"worker","context":"https://x/y"}""", new[] { "context" })]
    [InlineData("""[1,2]""", new[] { "body" })]
    [InlineData("""{"taskId":"T1\n","agentType":"worker","context":{"repository":"https://x/y.git","branch":"main"}}""", new[] { "taskId" })]
    public async Task Bad_requests_name_their_fields(string body, string[] expected)
    {
        await using var host = await TestHost.StartAsync(s => s["ALLOW_LOCAL_REPOSITORIES"] = "false");
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(expected, problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray());
    }

    [Theory]
    [InlineData("{\"taskId\":")]
    [InlineData("not json at all")]
    [InlineData("{\"taskId\":\"T\",}")]
    [InlineData("")]
    public async Task Malformed_json_is_400_never_500(string body)
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }

    /// <summary>
    /// Text that is not text: raw bytes that are not UTF-8 inside a string (an encoded lone surrogate ED A0 80, a stray
    /// FF), or a JSON escape of a lone surrogate, which is valid JSON but no valid string. A 400 naming the field.
    /// </summary>
    [Theory]
    [InlineData("taskId", "T-%ED%A0%80")]
    [InlineData("taskId", "T-%FF")]
    [InlineData("taskId", "T-\\ud800")]
    [InlineData("agentType", "work%FFer")]
    [InlineData("context.branch", "main%ED%A0%80")]
    [InlineData("context.repository", "\\udc00")]
    [InlineData("context.workItems", "US-%FF")]
    [InlineData("context.skills", "c\\ud800sharp")]
    public async Task A_string_that_is_not_valid_unicode_is_a_400_naming_its_field_and_nothing_is_queued(string field, string value)
    {
        await using var host = await TestHost.StartAsync();
        var values = new Dictionary<string, string>
        {
            ["taskId"] = "T-utf8", ["agentType"] = "worker", ["context.repository"] = GitRemote.Default.Bare,
            ["context.branch"] = "main", ["context.workItems"] = "US-001", ["context.skills"] = "csharp",
        };
        values[field] = value;
        var body = Utf8WithRawBytes(
            $$$"""{"taskId":"{{{values["taskId"]}}}","agentType":"{{{values["agentType"]}}}","context":{"repository":"{{{values["context.repository"]}}}","branch":"{{{values["context.branch"]}}}","workItems":["{{{values["context.workItems"]}}}"],"skills":["{{{values["context.skills"]}}}"]}}""");
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");

        using var response = await host.Client.PostAsync("/agents/spawn", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
        Assert.Contains("Nothing was queued", problem.GetProperty("detail").GetString());
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<JsonElement>("/agents")).GetProperty("total").GetInt32());
        Assert.Empty(host.Events.All);
    }

    /// <summary>Invalid bytes outside any string the service reads are the JSON reader's to refuse: a 400 about the body.</summary>
    [Fact]
    public async Task Invalid_utf8_outside_a_string_is_a_400_about_the_body()
    {
        await using var host = await TestHost.StartAsync();
        using var content = new ByteArrayContent(Utf8WithRawBytes("{%FF\"taskId\":\"T\"}"));
        content.Headers.ContentType = new("application/json");
        using var response = await host.Client.PostAsync("/agents/spawn", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("body", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<JsonElement>("/agents")).GetProperty("total").GetInt32());
    }

    /// <summary>The text with each "%HH" replaced by that raw byte (the rest UTF-8).</summary>
    private static byte[] Utf8WithRawBytes(string text)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '%')
            {
                bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }

        return [.. bytes];
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.Client.PostAsync("/agents/spawn", new StringContent(TestHost.SpawnBody("T"), System.Text.Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_whether_or_not_its_length_is_announced()
    {
        await using var host = await TestHost.StartAsync(s => s["MAX_REQUEST_BODY_BYTES"] = "2048");
        var big = TestHost.SpawnBody("T-big").Replace("US-001", new string('x', 4000), StringComparison.Ordinal);
        using var announced = await host.Client.PostAsync("/agents/spawn", TestHost.Json(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, announced.StatusCode);
        Assert.Contains("MAX_REQUEST_BODY_BYTES", (await announced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        var chunked = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/agents/spawn") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var fresh = new HttpClient { BaseAddress = host.BaseAddress }; // Kestrel closes a connection whose body it refused
        using var unannounced = await fresh.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, unannounced.StatusCode);
    }

    [Fact]
    public async Task A_second_spawn_for_a_live_task_is_409_with_the_live_agent_and_after_it_ends_the_task_can_run_again()
    {
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "sleep 30");
        var first = await host.SpawnAsync("T-dup");
        using var duplicate = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-dup")));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        var problem = await duplicate.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(first, problem.GetProperty("agentId").GetGuid());
        Assert.Contains(first.ToString(), problem.GetProperty("detail").GetString());

        using var kill = await host.Client.PostAsync($"/agents/{first}/kill", null);
        Assert.Equal(HttpStatusCode.OK, kill.StatusCode);
        var second = await host.SpawnAsync("T-dup");
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task A_spawn_while_the_runtime_is_unusable_is_503_naming_the_failing_check_with_retry_after_and_queues_nothing()
    {
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = null);

        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-unready")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(10), response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Equal(["runtime"], problem.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("AGENT_COMMAND is not set", problem.GetProperty("checks").GetProperty("runtime").GetString());
        Assert.Contains("AGENT_COMMAND is not set", problem.GetProperty("detail").GetString());
        Assert.Contains("Nothing was queued", problem.GetProperty("detail").GetString());

        var agents = await host.Client.GetFromJsonAsync<JsonElement>("/agents");
        Assert.Equal(0, agents.GetProperty("total").GetInt32());
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats")).GetProperty("pending").GetInt32());
        Assert.Empty(host.Events.All);

        // A request that is wrong anyway is told so first: waiting would not make it valid.
        using var bad = await host.Client.PostAsync("/agents/spawn", TestHost.Json("""{"taskId":"T-unready"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after_and_loses_nothing_already_queued()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["MAX_QUEUED_TASKS"] = "3";
            s["QUEUE_FULL_RETRY_AFTER_SECONDS"] = "7";
        });
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var queued = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            queued.Add(await host.SpawnAsync($"T-full-{i}"));
        }

        using var full = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-full-3")));
        Assert.Equal((HttpStatusCode)429, full.StatusCode);
        Assert.Equal("7", full.Headers.GetValues("Retry-After").Single());
        Assert.Contains("MAX_QUEUED_TASKS", (await full.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        var list = await host.Client.GetFromJsonAsync<JsonElement>("/agents?status=spawning");
        Assert.Equal(3, list.GetProperty("total").GetInt32());
        using (await host.Client.PostAsync("/agents/queue/resume", null))
        {
        }

        foreach (var id in queued)
        {
            await host.Events.WaitForAsync(id, "agent.completed");
        }
    }

    [Fact]
    public async Task Spawns_over_the_write_rate_are_429_with_retry_after_while_reads_still_pass()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["RATE_LIMIT_WRITES_PER_SECOND"] = "1";
            s["RATE_LIMIT_WRITES_BURST"] = "2";
        });
        var codes = new List<HttpStatusCode>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 6; i++)
        {
            using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody($"T-rate-{i}")));
            codes.Add(response.StatusCode);
            if (response.StatusCode == (HttpStatusCode)429)
            {
                Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
            }
        }

        // The burst, plus a token per second the six spawns took (one, on a machine that is not loaded).
        Assert.InRange(codes.Count(c => c == HttpStatusCode.Accepted), 2, 2 + (int)Math.Ceiling(clock.Elapsed.TotalSeconds));
        Assert.Contains((HttpStatusCode)429, codes);
        using var read = await host.Client.GetAsync("/agents");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }
}
