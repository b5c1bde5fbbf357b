using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Runtimes;

public sealed class PromptTemplatesTests
{
    private static AgentRecord Agent(AgentType type) => new()
    {
        AgentId = Guid.Parse("0195f3a2-0000-7000-8000-000000000001"),
        TaskId = "T-42",
        AgentType = type,
        GateProfile = GateProfile.Standard,
        Priority = 5,
        Context = new AgentContext("https://user:hunter2@git.example/repo.git", "develop", ["US-1", "US-2"], ["csharp", "sql"]),
        Status = AgentStatus.Running,
        TaskState = TaskState.Executing,
        SpawnedAt = DateTimeOffset.UnixEpoch,
        MaxAttempts = 3,
        Branch = "agent/T-42-0195f3a2",
        Attempt = 2,
    };

    [Theory]
    [InlineData(AgentType.Worker, "software engineer")]
    [InlineData(AgentType.Reviewer, "\"approved\"")]
    [InlineData(AgentType.Tester, "Write tests")]
    public void Each_type_has_its_template_filled_from_the_spawn_context(AgentType type, string expected)
    {
        var prompt = PromptTemplates.BuiltIn.Render(Agent(type));
        Assert.Contains(expected, prompt);
        Assert.Contains("T-42", prompt);
        Assert.Contains("- US-1\n- US-2", prompt);
        Assert.Contains("csharp, sql", prompt);
        Assert.Contains("develop", prompt);
        Assert.Contains("agent/T-42-0195f3a2", prompt);
        Assert.DoesNotContain("hunter2", prompt);
        Assert.DoesNotContain("{{", prompt);
    }

    [Fact]
    public void Files_in_the_template_folder_replace_the_built_in_ones()
    {
        var dir = TempDirectory.Create("templates");
        File.WriteAllText(Path.Combine(dir, "worker.md"), "Do {{ taskId }} (attempt {{attempt}}) on {{branch}}:\n{{workItems}}");
        var templates = PromptTemplates.Load(dir, out var problems);
        Assert.Empty(problems);
        Assert.Equal("Do T-42 (attempt 2) on agent/T-42-0195f3a2:\n- US-1\n- US-2", templates.Render(Agent(AgentType.Worker)));
        Assert.Contains("code reviewer", templates.Render(Agent(AgentType.Reviewer)));
    }

    [Fact]
    public async Task Unknown_placeholders_or_a_missing_folder_refuse_the_start()
    {
        var dir = TempDirectory.Create("templates-bad");
        File.WriteAllText(Path.Combine(dir, "tester.md"), "Test {{taskID}} with {{secrets}}");
        PromptTemplates.Load(dir, out var problems);
        Assert.Contains(problems, p => p.Contains("taskID, secrets", StringComparison.Ordinal));
        PromptTemplates.Load(Path.Combine(dir, "missing"), out problems);
        Assert.Contains(problems, p => p.Contains("does not exist", StringComparison.Ordinal));

        var app = TestHost.Build(new(TestHost.Defaults(TempDirectory.Create("templates-host"))) { ["PROMPT_TEMPLATE_DIR"] = dir });
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("unknown placeholders", error.Message);
        await app.DisposeAsync();
    }

    [Fact]
    public async Task The_command_runtime_gets_the_overridden_prompt_too()
    {
        var dir = TempDirectory.Create("templates-cmd");
        File.WriteAllText(Path.Combine(dir, "reviewer.md"), "Custom review of {{taskId}}");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["PROMPT_TEMPLATE_DIR"] = dir;
            s["AGENT_COMMAND"] = "cp \"$MOSAIC_PROMPT_FILE\" \"$(dirname \"$MOSAIC_PROMPT_FILE\")/seen.txt\"";
        });
        var id = await host.SpawnAsync("T-custom-prompt", agentType: "reviewer");
        await host.Events.WaitForAsync(id, "agent.completed");
        Assert.Equal("Custom review of T-custom-prompt", await File.ReadAllTextAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "seen.txt")));
    }
}
