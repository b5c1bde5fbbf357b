using System.Text.Json;
using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.ModelGateway;

/// <summary>A rate limit from the model API parks the account: nothing starts until the reset, and the agent it ended resumes then.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task A_429_with_retry_after_parks_the_queue_and_the_agent_completes_after_the_reset_without_spending_an_attempt()
    {
        // The first call is rate-limited for 3 s; the CLI does not retry by itself here (CLAUDE_MAX_RETRIES=0), so the
        // attempt ends on it. With TASK_MAX_ATTEMPTS=1 a charged attempt would fail the agent: it must not be charged.
        await using var api = await FakeMessagesApi.StartAsync(
            new FakeReply.Error(429, "rate_limit_error", "slow down", new Dictionary<string, string> { ["retry-after"] = "3" }));
        await using var host = await ClaudeCodeRunTests.StartAsync(api);
        var id = await host.SpawnAsync("T-rate-limited", agentType: "reviewer");

        var limited = await host.Events.WaitForAsync(id, ModelEventTypes.RateLimited, TimeSpan.FromSeconds(60));
        var until = limited.Data!.Value.GetProperty("until").GetDateTimeOffset();
        Assert.Equal(429, limited.Data.Value.GetProperty("status").GetInt32());
        // Spawned inside the parked window: it must wait for the reset like everything else.
        var other = await host.SpawnAsync("T-while-parked", agentType: "reviewer");

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);
        var otherStatus = await ClaudeCodeRunTests.EndOfAsync(host, other);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal(1, status.GetProperty("attempt").GetInt32());
        var retry = Assert.Single(host.Events.For(id), e => e.Type == "agent.retrying");
        Assert.Equal("rate-limited", retry.Data!.Value.GetProperty("reason").GetString());
        Assert.Equal(until, retry.Data.Value.GetProperty("nextAttemptAt").GetDateTimeOffset());
        var resumed = await host.Events.WaitForAsync(e => e.Type == ModelEventTypes.Resumed);
        Assert.True(resumed.Timestamp >= until);

        // Nothing started during the park: the other task began at the reset at the earliest, and so did the retry.
        var otherStarted = Assert.Single(host.Events.For(other), e => e.Type == "agent.running");
        Assert.True(otherStarted.Timestamp >= until, $"the other task started at {otherStarted.Timestamp:O}, inside the park until {until:O}");
        Assert.True(otherStatus.GetProperty("status").GetString() == "completed", otherStatus.GetRawText());
        Assert.True(Assert.Single(host.Events.For(id), e => e.Type == "agent.completed").Timestamp >= until);
        Assert.Equal(3, api.Requests.Count); // the limited call, then one call each after the reset
    }
}
