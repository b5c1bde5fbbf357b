using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;

/// <summary>What keeps an agent contained and honest: its environment, its limits, the watchdogs, readiness.</summary>
public sealed class ClaudeCodeGuardTests
{
    [Fact]
    public async Task The_cli_process_gets_the_key_it_needs_and_none_of_the_orchestrators_secrets()
    {
        var marker = Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable("VALKEY_PASSWORD", "valkey-secret-" + marker);
        Environment.SetEnvironmentVariable("CLAUDECODE", "1");
        Environment.SetEnvironmentVariable("CLAUDE_CODE_ENTRYPOINT", "parent-" + marker);
        Environment.SetEnvironmentVariable("MOSAIC_TEST_ALLOWED", "allowed-" + marker);
        try
        {
            await using var api = await FakeMessagesApi.StartAsync(new FakeReply.Stall("reading..."));
            await using var host = await ClaudeCodeRunTests.StartAsync(api, s =>
            {
                s["ORCHESTRATOR_API_KEY"] = "orchestrator-key-" + marker;
                s["AGENT_ENV_PASSTHROUGH"] = "MOSAIC_TEST_ALLOWED,VALKEY_PASSWORD,CLAUDECODE,CLAUDE_CODE_ENTRYPOINT";
            });
            host.Client.DefaultRequestHeaders.Add("X-API-Key", "orchestrator-key-" + marker);
            var id = await host.SpawnAsync("T-claude-env", agentType: "reviewer");
            await api.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var pid = (await host.Get<Mosaic.Orchestrator.Agents.IAgentStore>().GetAsync(id, default))!.Process!.Pid;

            var environ = Encoding.UTF8.GetString(await File.ReadAllBytesAsync($"/proc/{pid}/environ"));
            var variables = environ.Split('\0', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1]);
            var agentDirectory = Path.Combine(host.DataDir, "agents", id.ToString());

            // The model gateway: the CLI holds a credential for this run and calls the service, which holds the key.
            var credential = variables["ANTHROPIC_API_KEY"];
            Assert.StartsWith("mosaic-gw-", credential);
            Assert.Equal(host.BaseAddress.ToString().TrimEnd('/'), variables["ANTHROPIC_BASE_URL"]);
            Assert.DoesNotContain(api.ApiKey, environ);
            Assert.All(api.Requests, r => Assert.Equal(api.ApiKey, r.ApiKey));
            Assert.Equal("1", variables["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"]);
            Assert.Equal(Path.Combine(agentDirectory, "home"), variables["HOME"]);
            Assert.Equal(Path.Combine(agentDirectory, "tmp"), variables["TMPDIR"]);
            Assert.Equal("allowed-" + marker, variables["MOSAIC_TEST_ALLOWED"]);
            Assert.DoesNotContain(marker, environ.Replace("allowed-" + marker, "", StringComparison.Ordinal));
            Assert.DoesNotContain("VALKEY_PASSWORD", variables.Keys);
            Assert.DoesNotContain("CLAUDECODE", variables.Keys);
            Assert.DoesNotContain("CLAUDE_CODE_ENTRYPOINT", variables.Keys);
            Assert.DoesNotContain("CLAUDE_API_KEY", variables.Keys);

            using var kill = await host.Client.PostAsync($"/agents/{id}/kill", null);
            await host.Events.WaitForAsync(id, "agent.cleanup");

            // Once the run has ended, its credential is worth nothing.
            using var replay = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            replay.Headers.Add("x-api-key", credential);
            using var refused = await host.Client.SendAsync(replay);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("authentication_error", await refused.Content.ReadAsStringAsync());
        }
        finally
        {
            Environment.SetEnvironmentVariable("VALKEY_PASSWORD", null);
            Environment.SetEnvironmentVariable("CLAUDECODE", null);
            Environment.SetEnvironmentVariable("CLAUDE_CODE_ENTRYPOINT", null);
            Environment.SetEnvironmentVariable("MOSAIC_TEST_ALLOWED", null);
        }
    }

    [Fact]
    public async Task Reaching_the_turn_limit_fails_with_reason_max_turns()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        api.Always = new FakeReply.ToolUse("Read", new { file_path = "/etc/hostname" });
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s => s["CLAUDE_REVIEWER_MAX_TURNS"] = "2");
        var id = await host.SpawnAsync("T-claude-turns", agentType: "reviewer");

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", status.GetRawText());
        Assert.Equal("max-turns", status.GetProperty("reason").GetString());
        Assert.Equal("error_max_turns", status.GetProperty("run").GetProperty("subtype").GetString());
    }

    [Fact]
    public async Task A_reviewer_cannot_write_even_when_the_model_asks_to()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api);
        var id = await host.SpawnAsync("T-claude-readonly", agentType: "reviewer");
        var worktree = await host.WorktreeOfAsync(id);
        api.Then(
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(worktree, "sneaky.txt"), content = "x" }),
            new FakeReply.ToolUse("Bash", new { command = "touch bash-sneaky.txt", description = "write" }),
            new FakeReply.Text("Could not write."));

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.False(status.GetProperty("pushed").GetBoolean());
        Assert.Null(status.GetProperty("headCommit").GetString() is { } head && head != status.GetProperty("baseCommit").GetString() ? head : null);
        var denied = status.GetProperty("run").GetProperty("permissionDenials").EnumerateArray().Select(d => d.GetProperty("tool").GetString()).ToList();
        Assert.Contains("Bash", denied);
        Assert.All(api.Requests.Skip(1), r => Assert.NotEmpty(r.ToolResults));
    }

    [Fact]
    public async Task Settings_planted_in_the_agents_home_do_not_steer_the_ai_review()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s => s["GATE_FIX_ATTEMPTS"] = "0");
        var remote = GitRemote.Create("claude-plant");
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = "gates:\n  tests: sh check.sh\n" });
        var body = System.Text.Json.JsonSerializer.Serialize(new
        {
            taskId = "T-claude-plant",
            agentType = "worker",
            gates = new[] { "tests", "ai-review" },
            context = new { repository = remote.Bare, branch = "main" },
        });
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(body));
        var id = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("agentId").GetGuid();
        // The worker rewrites the branch's check.sh; the tests gate runs it, and it plants user settings in the
        // agent's HOME that would send the reviewer to another API (one that approves anything). The reviewer must
        // still ask ours, which rejects.
        var worktree = await host.WorktreeOfAsync(id);
        api.Then(
            new FakeReply.ToolUse("Write", new
            {
                file_path = Path.Combine(worktree, "check.sh"),
                content = "mkdir -p \"$HOME/.claude\" && echo '{\"env\":{\"ANTHROPIC_BASE_URL\":\"http://127.0.0.1:9\"}}' > \"$HOME/.claude/settings.json\"\n",
            }),
            new FakeReply.Text("Done."),
            new FakeReply.Text("""{"approved": false, "confidence": 0.99, "findings": ["plants settings"]}"""));

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("reason").GetString() == "gate-failed:ai-review", status.GetRawText());
        Assert.Equal(3, api.Requests.Count);
        Assert.Contains("code reviewer", api.Requests[2].MessageText);
    }

    [Fact]
    public async Task A_process_that_lingers_after_its_result_is_ended_and_the_result_stands()
    {
        // The real CLI exits after its result; this stand-in (same output format) does not, as a hung one might.
        var dir = TempDirectory.Create("linger");
        var script = Path.Combine(dir, "claude");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            if [ "$1" = "--version" ]; then echo "0.0.1 (stand-in)"; exit 0; fi
            echo '{"type":"system","subtype":"init","session_id":"s-1","model":"m"}'
            echo '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"done","total_cost_usd":0.5,"session_id":"s-1"}'
            sleep 300 &
            exec sleep 300
            """.Replace("\r", "", StringComparison.Ordinal));
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s =>
        {
            s["CLAUDE_PATH"] = script;
            s["CLAUDE_RESULT_GRACE_SECONDS"] = "1";
        });
        var id = await host.SpawnAsync("T-claude-linger", agentType: "reviewer");

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        // The script's result line is kept as the CLI's own figure; the gateway, which saw no call, says what was spent.
        Assert.Equal(0.5, status.GetProperty("run").GetProperty("cliCostUsd").GetDouble());
        Assert.Equal(0, status.GetProperty("run").GetProperty("costUsd").GetDouble());
        Assert.False(ProcessTable.AgentProcesses().ContainsKey(id), "no process of the agent is left");
    }

    [Fact]
    public async Task Readiness_names_what_keeps_the_runtime_from_running_and_such_a_spawn_is_refused()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using (var host = await ClaudeCodeRunTests.StartAsync(api, s => s["CLAUDE_API_KEY"] = null))
        {
            var (code, detail) = await RuntimeCheckAsync(host);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
            Assert.Contains("CLAUDE_API_KEY is not set", detail);

            using var spawn = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-claude-unready", agentType: "reviewer")));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, spawn.StatusCode);
            Assert.Contains("CLAUDE_API_KEY is not set", (await spawn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
            Assert.Empty(host.Events.All);
            Assert.Empty(api.Requests);
        }

        await using (var host = await ClaudeCodeRunTests.StartAsync(api, s => s["CLAUDE_PATH"] = "/nonexistent/claude"))
        {
            var (code, detail) = await RuntimeCheckAsync(host);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
            Assert.Contains("not found", detail);
        }

        await using (var host = await ClaudeCodeRunTests.StartAsync(api))
        {
            var (code, detail) = await RuntimeCheckAsync(host);
            Assert.True(code == HttpStatusCode.OK, detail);
            Assert.Contains("2.1.332", detail);
        }
    }

    [Fact]
    public async Task A_claude_that_disappears_after_the_spawn_was_accepted_fails_the_agent_fast_with_runtime_unavailable()
    {
        // Spawns are refused while the runtime is unusable; the worker checks again before each run, for a runtime
        // that breaks while a task waits (here: the executable is removed while the queue is paused).
        var claude = Path.Combine(TempDirectory.Create("vanishing"), "claude");
        File.CreateSymbolicLink(claude, ClaudeCli.Path);
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s => s["CLAUDE_PATH"] = claude);
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var id = await host.SpawnAsync("T-claude-vanished", agentType: "reviewer");
        File.Delete(claude);
        using (await host.Client.PostAsync("/agents/queue/resume", null))
        {
        }

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);
        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal("runtime-unavailable", status.GetProperty("reason").GetString());
        Assert.Contains("not found", status.GetProperty("error").GetString());
        Assert.Empty(api.Requests);
    }

    private static async Task<(HttpStatusCode Code, string Detail)> RuntimeCheckAsync(TestHost host)
    {
        using var response = await host.Client.GetAsync("/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("checks").GetProperty("runtime").GetProperty("detail").GetString() ?? "");
    }
}
