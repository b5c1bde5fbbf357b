using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;

/// <summary>
/// The real claude CLI, driven by the service through HTTP, against a fake Messages API on loopback. Each test
/// asserts on the agent record and, for workers, on the branch that reached the remote.
/// </summary>
public sealed class ClaudeCodeRunTests
{
    internal static Task<TestHost> StartAsync(FakeMessagesApi api, Action<Dictionary<string, string?>>? more = null) =>
        TestHost.StartAsync(s =>
        {
            s["AGENT_RUNTIME"] = "claude-code";
            s["AGENT_COMMAND"] = null;
            s["CLAUDE_PATH"] = ClaudeCli.Path;
            s["CLAUDE_API_KEY"] = api.ApiKey;
            s["ANTHROPIC_BASE_URL"] = api.BaseUrl;
            s["CLAUDE_MODEL"] = FakeMessagesApi.Model;
            s["CLAUDE_MAX_RETRIES"] = "0";
            s["TASK_MAX_ATTEMPTS"] = "1";
            s["CLAUDE_PROGRESS_INTERVAL_SECONDS"] = "0.1";
            more?.Invoke(s);
        });

    internal static async Task<JsonElement> EndOfAsync(TestHost host, Guid id)
    {
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));
        return await host.StatusAsync(id);
    }

    private static string Explain(JsonElement status) => status.GetRawText();

    [Fact]
    public async Task A_worker_that_writes_a_file_is_committed_pushed_and_completed_with_cost_and_turns()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await StartAsync(api);
        var remote = GitRemote.Create("claude-write");
        // The model asks for a Write into the worktree, then answers. The path is known only once the agent exists,
        // so the reply is scripted from the first request (its environment block names the working directory).
        var id = await host.SpawnAsync("T-claude-write", repository: remote.Bare);
        var worktree = await host.WorktreeOfAsync(id);
        api.Then(
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(worktree, "hello.txt"), content = "hello from the agent\n" }),
            new FakeReply.Text("I wrote hello.txt."));

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", Explain(status));
        var run = status.GetProperty("run");
        Assert.Equal("claude-code", run.GetProperty("runtime").GetString());
        Assert.Equal(2, run.GetProperty("turns").GetInt32());
        Assert.Equal("I wrote hello.txt.", run.GetProperty("result").GetString());
        Assert.Equal(1, run.GetProperty("toolCalls").GetInt32());
        Assert.Equal(2 * api.InputTokensPerMessage, run.GetProperty("tokens").GetProperty("input").GetInt64());
        Assert.True(run.GetProperty("costUsd").GetDouble() > 0, Explain(status));
        Assert.Equal(run.GetProperty("costUsd").GetDouble(), status.GetProperty("totalCostUsd").GetDouble());
        Assert.False(string.IsNullOrEmpty(run.GetProperty("sessionId").GetString()));
        Assert.Equal(FakeMessagesApi.Model, run.GetProperty("model").GetString());
        Assert.True(status.GetProperty("pushed").GetBoolean());
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Equal("hello from the agent\n", remote.Show($"refs/heads/{branch}", "hello.txt"));

        // What the CLI sent: our key, the configured model, the Write result fed back, the prompt from the template.
        var requests = api.Requests;
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(api.ApiKey, r.ApiKey));
        Assert.All(requests, r => Assert.Equal(FakeMessagesApi.Model, r.Model));
        Assert.StartsWith("/v1/messages", requests[0].Path);
        Assert.Contains("T-claude-write", requests[0].MessageText);
        Assert.Contains("US-001", requests[0].MessageText);
        Assert.Contains(requests[1].ToolResults, r => r.Contains("hello.txt", StringComparison.Ordinal));
        Assert.Contains(host.Events.For(id), e => e.Type == "agent.progress");
        Assert.True(File.Exists(Path.Combine(host.DataDir, "agents", id.ToString(), "attempt-1.log")));
    }

    [Fact]
    public async Task A_fix_run_after_a_failing_gate_continues_the_same_conversation()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await StartAsync(api);
        var remote = GitRemote.Create("claude-fix");
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = "gates:\n  tests: \"test -f fixed.txt\"\n" }, "declare the tests gate");
        var id = await host.SpawnAsync("T-claude-fix", repository: remote.Bare);
        var worktree = await host.WorktreeOfAsync(id);
        api.Then(
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(worktree, "first.txt"), content = "first\n" }),
            new FakeReply.Text("I wrote first.txt."),
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(worktree, "fixed.txt"), content = "fixed\n" }),
            new FakeReply.Text("I wrote fixed.txt."));

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", Explain(status));
        var gates = status.GetProperty("gates").EnumerateArray().Where(g => g.GetProperty("gate").GetString() == "tests").ToList();
        Assert.Equal(["failed", "passed"], gates.Select(g => g.GetProperty("status").GetString()));
        // The fix run's first request carries the first run's conversation: its answer and the task before it.
        var requests = api.Requests;
        Assert.Equal(4, requests.Count);
        Assert.Contains("I wrote first.txt.", requests[2].MessageText);
        Assert.Contains("rejected it", requests[2].MessageText);
        Assert.True(requests[2].Body.GetProperty("messages").GetArrayLength() > requests[0].Body.GetProperty("messages").GetArrayLength());
        var run = status.GetProperty("run");
        Assert.Equal(run.GetProperty("continuedSession").GetString(), run.GetProperty("sessionId").GetString());
        Assert.Equal("first\n", remote.Show(status.GetProperty("branch").GetString()!, "first.txt"));
    }

    [Fact]
    public async Task A_resumed_agent_continues_the_conversation_of_the_agent_it_resumes()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await StartAsync(api, s => s["GATE_FIX_ATTEMPTS"] = "0");
        var remote = GitRemote.Create("claude-resume");
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = "gates:\n  tests: \"test -f fixed.txt\"\n" }, "declare the tests gate");
        var first = await host.SpawnAsync("T-claude-resume", repository: remote.Bare);
        var firstTree = await host.WorktreeOfAsync(first);
        api.Then(
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(firstTree, "first.txt"), content = "first\n" }),
            new FakeReply.Text("I wrote first.txt."));
        var stopped = await EndOfAsync(host, first);
        Assert.True(stopped.GetProperty("reason").GetString() == "gate-failed:tests", Explain(stopped));
        Assert.StartsWith("wip/", stopped.GetProperty("wipBranch").GetString());

        using var resumed = await host.Client.PostAsync($"/agents/{first}/resume", null);
        var second = (await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("agentId").GetGuid();
        var secondTree = await host.WorktreeOfAsync(second);
        api.Then(
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(secondTree, "fixed.txt"), content = "fixed\n" }),
            new FakeReply.Text("I wrote fixed.txt."));
        var status = await EndOfAsync(host, second);

        Assert.True(status.GetProperty("status").GetString() == "completed", Explain(status));
        // The new agent's first request carries the first agent's conversation, then why it stopped.
        var requests = api.Requests;
        Assert.Equal(4, requests.Count);
        Assert.Contains("I wrote first.txt.", requests[2].MessageText);
        Assert.Contains("which stopped: gate-failed:tests", requests[2].MessageText);
        Assert.Equal(stopped.GetProperty("run").GetProperty("sessionId").GetString(), status.GetProperty("run").GetProperty("continuedSession").GetString());
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Equal("first\n", remote.Show(branch, "first.txt"));
        Assert.Equal("fixed\n", remote.Show(branch, "fixed.txt"));
    }

    [Fact]
    public async Task A_bash_tool_call_runs_in_the_worktree_and_its_output_goes_back_to_the_model()
    {
        await using var api = await FakeMessagesApi.StartAsync(
            new FakeReply.ToolUse("Bash", new { command = "echo made-by-bash > bash.txt && pwd", description = "write a file" }),
            new FakeReply.Text("Ran it."));
        await using var host = await StartAsync(api);
        var remote = GitRemote.Create("claude-bash");
        var id = await host.SpawnAsync("T-claude-bash", repository: remote.Bare);
        var worktree = await host.WorktreeOfAsync(id);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", Explain(status));
        Assert.Equal("made-by-bash\n", remote.Show($"refs/heads/{status.GetProperty("branch").GetString()}", "bash.txt"));
        Assert.Contains(api.Requests[1].ToolResults, r => r.Contains(worktree, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_plain_answer_from_a_reviewer_completes_with_its_verdict_and_nothing_pushed()
    {
        const string verdict = """{"approved": true, "confidence": 0.95, "findings": []}""";
        await using var api = await FakeMessagesApi.StartAsync(new FakeReply.Text("Looks good.\n" + verdict));
        await using var host = await StartAsync(api);
        var id = await host.SpawnAsync("T-claude-review", agentType: "reviewer");

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", Explain(status));
        Assert.EndsWith(verdict, status.GetProperty("run").GetProperty("result").GetString());
        Assert.Equal(1, status.GetProperty("run").GetProperty("turns").GetInt32());
        Assert.False(status.GetProperty("pushed").GetBoolean());
        // A reviewer has read-only tools: the CLI does not even offer the model Write, Edit or general Bash.
        var offered = api.Requests[0].ToolNames;
        Assert.Contains("Read", offered);
        Assert.DoesNotContain("Write", offered);
        Assert.DoesNotContain("Edit", offered);
        Assert.Contains("code reviewer", api.Requests[0].MessageText);
    }

    [Fact]
    public async Task A_rejected_key_fails_the_agent_at_once_as_an_auth_error()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await StartAsync(api, s => s["CLAUDE_API_KEY"] = "sk-ant-wrong-key");
        var id = await host.SpawnAsync("T-claude-401", agentType: "reviewer");

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", Explain(status));
        Assert.Equal("model-api-auth", status.GetProperty("reason").GetString());
        Assert.Equal(401, status.GetProperty("run").GetProperty("apiErrorStatus").GetInt32());
        Assert.Equal(1, status.GetProperty("exitCode").GetInt32());
        Assert.DoesNotContain("sk-ant-wrong-key", status.GetRawText());
    }

    [Theory]
    [InlineData(500, "api_error")]
    [InlineData(529, "overloaded_error")]
    public async Task Server_errors_and_overload_are_transient_and_retried_until_attempts_run_out(int code, string type)
    {
        await using var api = await FakeMessagesApi.StartAsync();
        api.Always = new FakeReply.Error(code, type, "try later");
        await using var host = await StartAsync(api, s =>
        {
            s["TASK_MAX_ATTEMPTS"] = "2";
            s["RETRY_BASE_DELAY_SECONDS"] = "0.1";
        });
        var id = await host.SpawnAsync($"T-claude-{code}", agentType: "reviewer");

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", Explain(status));
        Assert.Equal("attempts-exhausted", status.GetProperty("reason").GetString());
        Assert.Contains("model-api-unavailable", status.GetProperty("error").GetString());
        Assert.Equal(2, status.GetProperty("attempt").GetInt32());
        Assert.Equal(code, status.GetProperty("run").GetProperty("apiErrorStatus").GetInt32());
        Assert.Contains(host.Events.For(id), e => e.Type == "agent.retrying");
    }

    [Fact]
    public async Task An_overload_mid_run_is_retried_and_the_costs_of_both_attempts_add_up()
    {
        // Attempt 1 spends one answered message (a Read), then the API is overloaded; attempt 2 answers.
        await using var api = await FakeMessagesApi.StartAsync(
            new FakeReply.ToolUse("Read", new { file_path = "/etc/hostname" }),
            new FakeReply.Error(529, "overloaded_error", "Overloaded"),
            new FakeReply.Text("Recovered."));
        await using var host = await StartAsync(api, s =>
        {
            s["TASK_MAX_ATTEMPTS"] = "2";
            s["RETRY_BASE_DELAY_SECONDS"] = "0.1";
        });
        var id = await host.SpawnAsync("T-claude-recover", agentType: "reviewer");

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", Explain(status));
        Assert.Equal(2, status.GetProperty("attempt").GetInt32());
        var run = status.GetProperty("run");
        Assert.Equal(2, run.GetProperty("attempt").GetInt32());
        Assert.Equal("Recovered.", run.GetProperty("result").GetString());
        Assert.True(status.GetProperty("totalCostUsd").GetDouble() > run.GetProperty("costUsd").GetDouble(), Explain(status));
        var retry = host.Events.For(id).Single(e => e.Type == "agent.retrying");
        Assert.Equal("model-api-unavailable", retry.Data!.Value.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_stream_that_stalls_is_ended_by_the_idle_watchdog_and_no_process_survives()
    {
        await using var api = await FakeMessagesApi.StartAsync(new FakeReply.Stall("thinking..."));
        // The idle limit counts from the start: long enough for the CLI to start on a busy machine.
        await using var host = await StartAsync(api, s => s["CLAUDE_IDLE_TIMEOUT_SECONDS"] = "6");
        var id = await host.SpawnAsync("T-claude-stall", agentType: "reviewer");
        await api.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var running = await host.StatusAsync(id);
        var pid = (await host.Get<Mosaic.Orchestrator.Agents.IAgentStore>().GetAsync(id, default))!.Process!.Pid;
        Assert.Equal("running", running.GetProperty("status").GetString());

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", Explain(status));
        Assert.Contains("agent-stalled", status.GetProperty("error").GetString());
        Assert.Null(ProcessTable.Read(pid) is { IsAlive: true } ? pid : null);
        Assert.False(ProcessTable.AgentProcesses().ContainsKey(id), "no process of the agent is left");
    }

    [Fact]
    public async Task Kill_during_a_tool_call_ends_the_cli_and_the_shell_it_started_even_when_that_ignores_sigterm()
    {
        // The model runs a shell that ignores SIGTERM and sleeps: the kill must reach it by the tree, then SIGKILL.
        await using var api = await FakeMessagesApi.StartAsync(new FakeReply.ToolUse("Bash", new
        {
            command = "sh -c 'trap \"\" TERM; echo started > started.txt; sleep 300'",
            description = "a stubborn process",
        }));
        await using var host = await StartAsync(api);
        var id = await host.SpawnAsync("T-claude-kill");
        var worktree = await host.WorktreeOfAsync(id);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(worktree, "started.txt")), "the tool's shell to start");
        var members = ProcessTable.AgentProcesses()[id];
        Assert.True(members.Count >= 2, "claude and the shell it started carry the agent's marker");

        var started = DateTime.UtcNow;
        using var kill = await host.Client.PostAsync($"/agents/{id}/kill", null);
        Assert.Equal(System.Net.HttpStatusCode.OK, kill.StatusCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2));
        await host.Events.WaitForAsync(id, "agent.cleanup");

        Assert.Equal("killed", (await host.StatusAsync(id)).GetProperty("status").GetString());
        Assert.All(members, pid => Assert.False(ProcessTable.Read(pid) is { IsAlive: true }, $"process {pid} survived"));
        Assert.False(ProcessTable.AgentProcesses().ContainsKey(id), "no process of the agent is left");
    }

    [Fact]
    public async Task Spending_past_the_budget_fails_with_reason_max_budget()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        api.Always = new FakeReply.ToolUse("Read", new { file_path = "/etc/hostname" });
        api.InputTokensPerMessage = 50_000; // a few cents a message at the model's list price
        await using var host = await StartAsync(api, s => s["CLAUDE_MAX_BUDGET_USD"] = "0.05");
        var id = await host.SpawnAsync("T-claude-budget", agentType: "reviewer");

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", Explain(status));
        Assert.Equal("max-budget", status.GetProperty("reason").GetString());
        Assert.True(status.GetProperty("run").GetProperty("costUsd").GetDouble() >= 0.05, Explain(status));
    }
}
