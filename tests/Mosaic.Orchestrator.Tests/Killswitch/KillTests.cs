using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Killswitch;

public sealed class KillTests
{
    /// <summary>A tree whose every member ignores SIGTERM, one of them escaped into its own session.</summary>
    private const string StubbornTree = """
        trap '' TERM
        dir=$(dirname "$MOSAIC_PROMPT_FILE")
        sh -c 'trap "" TERM; sleep 300' &
        setsid sh -c 'trap "" TERM; sleep 300' &
        (trap '' TERM; while true; do sleep 1; done) &
        echo started > "$dir/ready"
        wait
        """;

    [Fact]
    public async Task Kill_ends_a_tree_that_ignores_sigterm_answers_within_2s_and_leaves_no_survivor()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = StubbornTree;
            s["KILL_GRACE_SECONDS"] = "3";
        });
        var id = await host.SpawnAsync("T-stubborn");
        var ready = Path.Combine(host.DataDir, "agents", id.ToString(), "ready");
        var marker = new ProcessTreeSelector(null, null, AgentMarker.For(id));
        // "ready" is written once the children are forked, which can be before the setsid child has left the session.
        int[] members = [];
        await Wait.UntilAsync(() =>
        {
            members = [.. ProcessTree.FindMembers(marker).Select(p => p.Pid)];
            var sessions = members.Select(pid => ProcessTable.Read(pid)?.Session).OfType<int>().Distinct().Count();
            return File.Exists(ready) && members.Length >= 6 && sessions > 1;
        }, "the whole tree to start, one of it in a session of its own");

        var clock = Stopwatch.StartNew();
        using var response = await host.Client.PostAsync($"/agents/{id}/kill", TestHost.Json("""{"reason":"runaway"}"""));
        var answeredIn = clock.Elapsed;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"Agent {id} killed successfully", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        Assert.True(answeredIn < TimeSpan.FromSeconds(2), $"kill answered after {answeredIn}");
        Assert.Equal("killed", (await host.StatusAsync(id)).GetProperty("status").GetString());

        var cleanup = await host.Events.WaitForAsync(id, "agent.cleanup");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2.5), "SIGTERM was ignored, so only SIGKILL after the grace could end the tree");
        Assert.True(cleanup.Data!.Value.GetProperty("workspaceRemoved").GetBoolean());
        Assert.True(cleanup.Data!.Value.GetProperty("processesSignalled").GetInt32() >= members.Length,
            $"agent.cleanup reports the {members.Length} processes the kill ended: {cleanup.Data}");
        Assert.All(members, pid => Assert.False(ProcessTable.IsAlive(pid), $"process {pid} survived the kill"));
        Assert.Empty(ProcessTree.FindMembers(marker));
        Assert.False(Directory.Exists(await host.WorktreeOfAsync(id)));

        var types = host.Events.For(id).Select(e => e.Type).ToList();
        Assert.True(types.IndexOf("agent.killed") < types.IndexOf("agent.cleanup"));
        Assert.DoesNotContain("agent.completed", types);
        Assert.DoesNotContain("agent.failed", types);
    }

    [Fact]
    public async Task Kill_writes_an_audit_entry_to_the_store_and_the_jsonl_file()
    {
        const string key = "audit-key-0123456789";
        await using var host = await TestHost.StartAsync(s =>
        {
            s["ORCHESTRATOR_API_KEY"] = key;
            s["AGENT_COMMAND"] = "sleep 300";
        });
        host.Client.DefaultRequestHeaders.Add("X-API-Key", key);
        var id = await host.SpawnAsync("T-audit");
        await host.Events.WaitForAsync(id, "agent.running");
        using (await host.Client.PostAsync($"/agents/{id}/kill", TestHost.Json("""{"reason":"operator says stop"}""")))
        {
        }

        var audit = await host.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
        var entry = audit.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("action").GetString() == "kill");
        Assert.Equal(Mosaic.Orchestrator.Api.ApiKeyAuthentication.KeyIdentity(key), entry.GetProperty("actor").GetString());
        Assert.Equal(id, entry.GetProperty("agentId").GetGuid());
        Assert.Equal("T-audit", entry.GetProperty("taskId").GetString());
        Assert.Equal("operator says stop", entry.GetProperty("reason").GetString());
        Assert.Equal("running", entry.GetProperty("priorStatus").GetString());
        Assert.True(entry.TryGetProperty("timestamp", out _));

        var lines = await File.ReadAllLinesAsync(Path.Combine(host.DataDir, "audit.jsonl"));
        var fromFile = JsonDocument.Parse(lines.Single()).RootElement;
        Assert.Equal(id, fromFile.GetProperty("agentId").GetGuid());
        Assert.Equal("operator says stop", fromFile.GetProperty("reason").GetString());
        Assert.DoesNotContain(key, string.Join("\n", lines));
    }

    [Fact]
    public async Task Kill_of_unknown_is_404_of_terminal_is_409_and_a_bad_reason_is_400()
    {
        await using var host = await TestHost.StartAsync();
        using var unknown = await host.Client.PostAsync($"/agents/{Guid.NewGuid()}/kill", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var malformed = await host.Client.PostAsync("/agents/xyz/kill", null);
        Assert.Equal(HttpStatusCode.NotFound, malformed.StatusCode);

        var id = await host.SpawnAsync("T-done");
        await host.Events.WaitForAsync(id, "agent.completed");
        using var terminal = await host.Client.PostAsync($"/agents/{id}/kill", null);
        Assert.Equal(HttpStatusCode.Conflict, terminal.StatusCode);
        var problem = await terminal.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("completed", problem.GetProperty("agentStatus").GetString());
        Assert.Equal(409, problem.GetProperty("status").GetInt32());

        using var badReason = await host.Client.PostAsync($"/agents/{id}/kill", TestHost.Json("""{"reason":42}"""));
        Assert.Equal(HttpStatusCode.BadRequest, badReason.StatusCode);
        Assert.True((await badReason.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("reason", out _));
        using var badJson = await host.Client.PostAsync($"/agents/{id}/kill", TestHost.Json("{"));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);

        // A reason that is no valid text (an escaped lone surrogate; raw bytes that are not UTF-8) is a 400 too, not a 500.
        foreach (var body in new[] { "{\"reason\":\"a\\ud800\"}"u8.ToArray(), [.. "{\"reason\":\"a"u8, 0xFF, .. "\"}"u8] })
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var badText = await host.Client.PostAsync($"/agents/{id}/kill", content);
            Assert.Equal(HttpStatusCode.BadRequest, badText.StatusCode);
            Assert.True((await badText.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("reason", out _));
        }
    }

    [Fact]
    public async Task The_kill_body_is_optional_whatever_its_content_type_and_a_body_that_is_not_json_is_a_400_naming_reason()
    {
        await using var host = await TestHost.StartAsync();
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var notJson = await host.SpawnAsync("T-kill-form");
        // curl -X POST .../kill -d 'x': form-encoded, not JSON. Nothing is killed.
        using var form = await host.Client.PostAsync($"/agents/{notJson}/kill", new StringContent("x", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, form.StatusCode);
        Assert.Equal("application/problem+json", form.Content.Headers.ContentType?.MediaType);
        var problem = await form.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("reason", out _), problem.GetRawText());
        Assert.Contains("not JSON", problem.GetProperty("detail").GetString());
        Assert.Equal("spawning", (await host.StatusAsync(notJson)).GetProperty("status").GetString());

        // An empty body with any content type (curl -d '' sends form encoding; some clients send text/plain) kills.
        foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded" })
        {
            var id = await host.SpawnAsync("T-kill-empty-" + type.Replace('/', '-'));
            using var empty = await host.Client.PostAsync($"/agents/{id}/kill", new StringContent("", System.Text.Encoding.UTF8, type));
            Assert.True(empty.StatusCode == HttpStatusCode.OK, await empty.Content.ReadAsStringAsync());
            Assert.Equal("killed", (await host.StatusAsync(id)).GetProperty("status").GetString());
        }

        // JSON sent without saying so (curl -d '{"reason":...}' without -H) is read as JSON.
        var unlabelled = await host.SpawnAsync("T-kill-unlabelled");
        using var json = await host.Client.PostAsync($"/agents/{unlabelled}/kill", new StringContent("""{"reason":"no header"}""", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.True(json.StatusCode == HttpStatusCode.OK, await json.Content.ReadAsStringAsync());
        var audit = await host.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("agentId").GetGuid() == unlabelled && e.GetProperty("reason").GetString() == "no header");

        // Kill-all reads its body the same way.
        using var killAll = await host.Client.PostAsync("/agents/kill-all", new StringContent("stop everything", System.Text.Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.BadRequest, killAll.StatusCode);
        Assert.Equal("spawning", (await host.StatusAsync(notJson)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Kill_of_a_queued_agent_removes_it_from_the_queue_and_emits_cleanup()
    {
        await using var host = await TestHost.StartAsync();
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var id = await host.SpawnAsync("T-queued");
        using var kill = await host.Client.PostAsync($"/agents/{id}/kill", null);
        Assert.Equal(HttpStatusCode.OK, kill.StatusCode);
        await host.Events.WaitForAsync(id, "agent.cleanup");
        using (await host.Client.PostAsync("/agents/queue/resume", null))
        {
        }

        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(0, stats.GetProperty("pending").GetInt32());
        var status = await host.StatusAsync(id);
        Assert.Equal("killed", status.GetProperty("status").GetString());
        Assert.Equal(0, status.GetProperty("attempt").GetInt32());
        Assert.DoesNotContain(host.Events.For(id), e => e.Type == "agent.running");
    }

    [Fact]
    public async Task Kill_all_kills_running_and_queued_agents_and_reports_counts()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "trap '' TERM; sleep 300";
            s["MAX_CONCURRENT_AGENTS"] = "2";
            s["KILL_GRACE_SECONDS"] = "1";
        });
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await host.SpawnAsync($"T-all-{i}"));
        }

        await host.Events.WaitForAsync(ids[0], "agent.running");
        await host.Events.WaitForAsync(ids[1], "agent.running");
        var clock = Stopwatch.StartNew();
        using var response = await host.Client.PostAsync("/agents/kill-all", TestHost.Json("""{"reason":"maintenance"}"""));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"kill-all answered after {clock.Elapsed}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Kill all completed: 3 killed, 0 failed", body.GetProperty("message").GetString());
        Assert.Equal(3, body.GetProperty("total").GetInt32());
        Assert.Equal(3, body.GetProperty("killed").GetInt32());
        Assert.Equal(0, body.GetProperty("failed").GetInt32());
        Assert.Empty(body.GetProperty("errors").EnumerateArray());

        foreach (var id in ids)
        {
            await host.Events.WaitForAsync(id, "agent.cleanup");
            Assert.Empty(ProcessTree.FindMembers(new ProcessTreeSelector(null, null, AgentMarker.For(id))));
        }

        using var again = await host.Client.PostAsync("/agents/kill-all", null);
        Assert.Equal("Kill all completed: 0 killed, 0 failed", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
    }
}
