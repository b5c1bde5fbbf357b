using System.Text.Json;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Tests.Cli;
using Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Scripts;

/// <summary>
/// The demo of run.sh, made by its own scripts: the repository (scripts/demo-repository.sh), the work item it spawns
/// with, and its gate. The scripted agent passes that gate by doing the work item; Claude Code is told the work item in
/// its prompt and passes by doing what it says; other work fails with a message naming the work item.
/// </summary>
public sealed class DemoTests
{
    private static readonly Lazy<string> WorkItem = new(() => Script("--work-item").Trim());

    [Fact]
    public async Task The_scripted_demo_agent_does_the_work_item_and_passes_the_demo_gate()
    {
        var remote = DemoRepository();
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = Checkout.File("scripts", "demo-agent.sh"));

        var id = await SpawnAsync(host, "demo-scripted", remote);
        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        var tests = status.GetProperty("gates").EnumerateArray().Single(g => g.GetProperty("gate").GetString() == "tests");
        Assert.Equal("passed", tests.GetProperty("status").GetString());
        Assert.Contains("RESULT.md holds a paragraph", tests.GetProperty("outputTail").GetString(), StringComparison.Ordinal);
        var result = GitRemote.Git(remote, "show", $"refs/heads/{status.GetProperty("branch").GetString()}:RESULT.md");
        Assert.StartsWith("Demo project is a small git repository of 3 tracked files", result, StringComparison.Ordinal);
        // It read its work from the prompt, as a model would.
        var log = await File.ReadAllTextAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "attempt-1.log"));
        Assert.Contains("  - " + WorkItem.Value, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Work_other_than_the_work_item_fails_the_demo_gate_with_a_message_that_names_the_work_item()
    {
        var remote = DemoRepository();
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = """case "$MOSAIC_TASK_ID" in *short*) echo done > RESULT.md ;; *) date > NOTES.md ;; esac""";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });

        foreach (var (task, said) in new[]
        {
            ("demo-elsewhere", "US-001: there is no RESULT.md at the top of the repository"),
            ("demo-short", "US-001: RESULT.md has no paragraph (15 words or more) that summarises the repository"),
        })
        {
            var status = await ClaudeCodeRunTests.EndOfAsync(host, await SpawnAsync(host, task, remote));
            Assert.True(status.GetProperty("reason").GetString() == "gate-failed:tests", status.GetRawText());
            var tests = status.GetProperty("gates").EnumerateArray().Single(g => g.GetProperty("gate").GetString() == "tests");
            Assert.Contains(said, tests.GetProperty("outputTail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Claude_Code_is_told_the_work_item_and_a_RESULT_md_as_asked_passes_the_demo_gate()
    {
        var remote = DemoRepository();
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api);

        var id = await SpawnAsync(host, "demo-claude", remote);
        var worktree = await host.WorktreeOfAsync(id);
        const string Paragraph = "Demo project is a tiny repository with a greeting script, greet.sh, that prints Hello and a name, " +
            "and a gate file that declares the tests gate its changes must pass.\n";
        api.Then(
            new FakeReply.ToolUse("Write", new { file_path = Path.Combine(worktree, "RESULT.md"), content = Paragraph }),
            new FakeReply.Text("I added RESULT.md with a one-paragraph summary."));

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.Contains(WorkItem.Value, api.Requests[0].MessageText, StringComparison.Ordinal);
        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal(Paragraph, GitRemote.Git(remote, "show", $"refs/heads/{status.GetProperty("branch").GetString()}:RESULT.md"));
    }

    /// <summary>A fresh demo repository, made by the script run.sh uses.</summary>
    private static string DemoRepository()
    {
        var remote = Path.Combine(TempDirectory.Create("demo"), "demo-remote.git");
        Script(remote);
        return remote;
    }

    private static string Script(string argument)
    {
        var result = ReadmeHookTests.Run("bash", Checkout.Root, Environment.GetEnvironmentVariable("PATH")!, [], Checkout.File("scripts", "demo-repository.sh"), argument);
        Assert.True(result.Exit == 0, result.Output + result.Error);
        return result.Output;
    }

    private static async Task<Guid> SpawnAsync(TestHost host, string taskId, string remote)
    {
        var body = JsonSerializer.Serialize(new
        {
            taskId,
            agentType = "worker",
            context = new { repository = remote, branch = "main", workItems = new[] { WorkItem.Value }, skills = new[] { "shell" } },
        }, OrchestratorJson.Options);
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(body));
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, answer);
        using var json = JsonDocument.Parse(answer);
        return json.RootElement.GetProperty("agentId").GetGuid();
    }
}
