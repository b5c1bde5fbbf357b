using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Tests.Processes;

public sealed class AgentEnvironmentTests
{
    [Theory]
    [InlineData("ORCHESTRATOR_API_KEY")]
    [InlineData("VALKEY_PASSWORD")]
    [InlineData("CLAUDE_API_KEY")]
    [InlineData("anthropic_api_key")]
    [InlineData("CLAUDECODE")]
    [InlineData("CLAUDE_CODE_SSE_PORT")]
    public void The_orchestrators_secrets_are_refused_even_when_passthrough_names_them(string name)
    {
        // Checked on the rule itself: setting these in this process's environment would change every test host.
        Assert.False(AgentEnvironment.IsPassable(name));
        Assert.True(AgentEnvironment.IsPassable("GITHUB_TOKEN_FOR_AGENTS"));
    }

    [Fact]
    public void A_request_adds_its_variables_but_cannot_change_the_agents_identity_or_scratch()
    {
        var agentId = Guid.NewGuid();
        var folder = AgentFolder.For("/data", agentId);
        var request = new AgentProcessRequest(agentId, "T-1", "/bin/sh", [], "/work", "/data/log")
        {
            Environment = new Dictionary<string, string>
            {
                ["MOSAIC_GATE"] = "lint",
                ["ANTHROPIC_API_KEY"] = "the-agents-own", // the caller's choice: not filtered like passthrough names
                ["MOSAIC_AGENT_ID"] = "someone-else",
                ["MOSAIC_TASK_ID"] = "other-task",
                ["HOME"] = "/root",
                ["TMPDIR"] = "/tmp",
            },
        };

        var environment = AgentEnvironment.Build(null, folder, request);

        Assert.Equal("lint", environment["MOSAIC_GATE"]);
        Assert.Equal("the-agents-own", environment["ANTHROPIC_API_KEY"]);
        Assert.Equal(agentId.ToString(), environment["MOSAIC_AGENT_ID"]);
        Assert.Equal("T-1", environment["MOSAIC_TASK_ID"]);
        Assert.Equal(folder.Home, environment["HOME"]);
        Assert.Equal(folder.Tmp, environment["TMPDIR"]);
        Assert.True(environment.ContainsKey("PATH"));
    }
}
