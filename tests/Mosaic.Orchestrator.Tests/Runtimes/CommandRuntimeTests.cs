using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Runtimes;

public sealed class CommandRuntimeTests
{
    [Fact]
    public async Task The_agent_gets_its_mosaic_variables_and_an_allowlisted_environment_without_orchestrator_secrets()
    {
        var secret = $"MOSAIC_TEST_SECRET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(secret, "do-not-leak");
        Environment.SetEnvironmentVariable("MOSAIC_TEST_PASSED_THROUGH", "visible");
        try
        {
            await using var host = await TestHost.StartAsync(s =>
            {
                s["ORCHESTRATOR_API_KEY"] = "the-orchestrators-own-key";
                s["AGENT_COMMAND"] = "env > \"$(dirname \"$MOSAIC_PROMPT_FILE\")/env.txt\"; pwd > \"$(dirname \"$MOSAIC_PROMPT_FILE\")/pwd.txt\"";
                s["AGENT_ENV_PASSTHROUGH"] = "MOSAIC_TEST_PASSED_THROUGH, NOT_SET_ANYWHERE";
            });
            host.Client.DefaultRequestHeaders.Add("X-API-Key", "the-orchestrators-own-key");
            var id = await host.SpawnAsync("T-env", agentType: "reviewer");
            await host.Events.WaitForAsync(id, "agent.cleanup");
            var agentDir = Path.Combine(host.DataDir, "agents", id.ToString());
            var env = (await File.ReadAllLinesAsync(Path.Combine(agentDir, "env.txt")))
                .Where(l => l.Contains('=', StringComparison.Ordinal))
                .Select(l => l.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);

            Assert.Equal(id.ToString(), env["MOSAIC_AGENT_ID"]);
            Assert.Equal("T-env", env["MOSAIC_TASK_ID"]);
            Assert.Equal("reviewer", env["MOSAIC_AGENT_TYPE"]);
            Assert.Equal(Path.Combine(agentDir, "prompt.txt"), env["MOSAIC_PROMPT_FILE"]);
            Assert.Equal("visible", env["MOSAIC_TEST_PASSED_THROUGH"]);
            Assert.Equal(Path.Combine(agentDir, "home"), env["HOME"]);
            Assert.Equal(Path.Combine(agentDir, "tmp"), env["TMPDIR"]);
            Assert.DoesNotContain(secret, env.Keys);
            Assert.DoesNotContain("NOT_SET_ANYWHERE", env.Keys);
            Assert.DoesNotContain(env.Values, v => v.Contains("the-orchestrators-own-key", StringComparison.Ordinal));

            var prompt = await File.ReadAllTextAsync(Path.Combine(agentDir, "prompt.txt"));
            Assert.Contains("code reviewer", prompt);
            Assert.Contains("US-001", prompt);
            Assert.Contains("csharp", prompt);
            Assert.Equal(await host.WorktreeOfAsync(id), (await File.ReadAllTextAsync(Path.Combine(agentDir, "pwd.txt"))).Trim());
            Assert.False(Directory.Exists(Path.Combine(agentDir, "home")), "the private HOME is removed at cleanup");
        }
        finally
        {
            Environment.SetEnvironmentVariable(secret, null);
            Environment.SetEnvironmentVariable("MOSAIC_TEST_PASSED_THROUGH", null);
        }
    }

    [Fact]
    public async Task The_log_is_capped_at_the_configured_size()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "head -c 200000 /dev/zero | tr '\\0' 'a'; echo; echo tail-marker; touch changed.txt";
            s["AGENT_LOG_MAX_BYTES"] = "4096";
        });
        var id = await host.SpawnAsync("T-log");
        await host.Events.WaitForAsync(id, "agent.completed");
        var log = await File.ReadAllTextAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "attempt-1.log"));
        Assert.InRange(log.Length, 4096, 4096 + 100);
        Assert.Contains("log truncated", log);
        Assert.DoesNotContain("tail-marker", log);
    }
}
