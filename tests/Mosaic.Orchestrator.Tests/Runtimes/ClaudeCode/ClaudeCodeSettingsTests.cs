using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;

namespace Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;

public sealed class ClaudeCodeSettingsTests
{
    [Fact]
    public void Per_type_settings_win_over_the_shared_ones_and_tools_come_from_the_allowed_list()
    {
        var options = new ClaudeCodeOptions
        {
            Model = "shared-model",
            MaxTurns = 30,
            MaxBudgetUsd = 2,
            ReviewerModel = "review-model",
            TesterMaxTurns = 5,
            WorkerMaxBudgetUsd = 7.5,
        };

        var worker = options.ProfileFor(AgentType.Worker);
        var reviewer = options.ProfileFor(AgentType.Reviewer);
        var tester = options.ProfileFor(AgentType.Tester);

        Assert.Equal(("shared-model", 30, 7.5, "acceptEdits"), (worker.Model, worker.MaxTurns, worker.MaxBudgetUsd, worker.PermissionMode));
        Assert.Equal(("review-model", 30, 2.0, "dontAsk"), (reviewer.Model, reviewer.MaxTurns, reviewer.MaxBudgetUsd, reviewer.PermissionMode));
        Assert.Equal(5, tester.MaxTurns);
        Assert.Equal(["Read", "Bash"], reviewer.ToolNames);
        Assert.Contains("Bash(git diff:*)", reviewer.AllowedTools);
    }

    [Fact]
    public void The_command_line_puts_the_prompt_last_after_a_double_dash()
    {
        var profile = new ClaudeAgentProfile("m", 3, 1.5, ["Read", "Bash(npm run test, lint)"], "acceptEdits");
        var arguments = ClaudeCodeRuntime.Arguments(profile, "--not-an-option");

        Assert.Equal(["-p", "--", "--not-an-option"], arguments.TakeLast(3));
        Assert.Equal("Read,Bash", arguments[arguments.ToList().IndexOf("--tools") + 1]);
        Assert.Equal("Read,Bash(npm run test, lint)", arguments[arguments.ToList().IndexOf("--allowedTools") + 1]);
        Assert.Equal("3", arguments[arguments.ToList().IndexOf("--max-turns") + 1]);
        Assert.Equal("1.5", arguments[arguments.ToList().IndexOf("--max-budget-usd") + 1]);
        Assert.Contains("--strict-mcp-config", arguments);
        Assert.Equal("", arguments[arguments.ToList().IndexOf("--setting-sources") + 1]);
        Assert.DoesNotContain("--dangerously-skip-permissions", arguments);
    }

    [Fact]
    public void Tool_lists_split_on_commas_outside_parentheses()
    {
        Assert.Equal(["Read", "Bash(git diff:*, git log:*)", "Edit"], ToolList.Parse(" Read , Bash(git diff:*, git log:*),,Edit "));
    }

    [Fact]
    public void Bypassing_permissions_is_refused_as_root_and_allowed_otherwise()
    {
        var options = new ClaudeCodeOptions { PermissionMode = "bypassPermissions" };
        var asRoot = new ClaudeCodeOptionsValidator { RunsAsRoot = () => true }.Validate(null, options);
        Assert.True(asRoot.Failed);
        Assert.Contains("refused while the orchestrator runs as root", asRoot.FailureMessage);
        Assert.True(new ClaudeCodeOptionsValidator { RunsAsRoot = () => false }.Validate(null, options).Succeeded);
    }

    [Fact]
    public void Bad_modes_tool_lists_and_urls_are_each_named()
    {
        var options = new ClaudeCodeOptions
        {
            ReviewerPermissionMode = "yolo",
            WorkerAllowedTools = "Read,rm -rf",
            TesterAllowedTools = " , ",
            BaseUrl = "ftp://example",
        };
        var result = new ClaudeCodeOptionsValidator().Validate(null, options);
        Assert.Contains("CLAUDE_REVIEWER_PERMISSION_MODE 'yolo' is unknown", result.FailureMessage);
        Assert.Contains("CLAUDE_WORKER_ALLOWED_TOOLS: 'rm -rf'", result.FailureMessage);
        Assert.Contains("CLAUDE_TESTER_ALLOWED_TOOLS names no tools", result.FailureMessage);
        Assert.Contains("ANTHROPIC_BASE_URL", result.FailureMessage);
    }

    [Fact]
    public async Task The_service_refuses_to_start_with_invalid_claude_settings()
    {
        var app = Support.TestHost.Build(new(Support.TestHost.Defaults(Support.TempDirectory.Create("claude-bad")))
        {
            ["CLAUDE_PERMISSION_MODE"] = "whatever",
        });
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("CLAUDE_PERMISSION_MODE", error.Message);
        await app.DisposeAsync();
    }
}
