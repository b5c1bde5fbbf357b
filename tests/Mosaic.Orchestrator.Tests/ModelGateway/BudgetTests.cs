using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.ModelGateway;

/// <summary>
/// Budgets, enforced by the gateway before a call starts. The fake answers each call with 100 input and 20 output
/// tokens of claude-sonnet-4-5: $0.0006 at $3 and $15 per million. A budget of $0.0005 allows exactly one call.
/// </summary>
public sealed class BudgetTests
{
    private const double OneCall = 0.0006;

    [Theory]
    [InlineData("AGENT_MAX_COST_USD")]
    [InlineData("TASK_MAX_COST_USD")]
    [InlineData("DAILY_MAX_COST_USD")]
    public async Task A_budget_that_allows_one_call_refuses_the_second_and_the_agent_ends_budget_exceeded(string budget)
    {
        // The model asks for a tool, so the CLI must call again with its result: that second call is refused.
        await using var api = await FakeMessagesApi.StartAsync(new FakeReply.ToolUse("Read", new { file_path = "/etc/hostname" }));
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s => s[budget] = "0.0005");
        var id = await host.SpawnAsync("T-budget-" + budget, agentType: "reviewer");

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", status.GetRawText());
        Assert.Equal("budget-exceeded", status.GetProperty("reason").GetString());
        Assert.Contains(budget, status.GetProperty("error").GetString());
        Assert.Single(api.Requests); // the refused call never reached the API
        var run = status.GetProperty("run");
        Assert.True(run.GetProperty("metered").GetBoolean());
        Assert.Equal(OneCall, run.GetProperty("costUsd").GetDouble(), 9);
        Assert.Equal(OneCall, status.GetProperty("totalCostUsd").GetDouble(), 9);
        Assert.Equal(api.InputTokensPerMessage, run.GetProperty("tokens").GetProperty("input").GetInt64());
        var priced = Assert.Single(run.GetProperty("meteredModels").EnumerateArray());
        Assert.Equal("claude-sonnet-4-5", priced.GetProperty("priceEntry").GetString());
        Assert.Equal(1, priced.GetProperty("calls").GetInt64());
    }

    [Fact]
    public async Task The_ai_review_counts_toward_the_agents_budget_and_a_refused_review_ends_the_agent_budget_exceeded()
    {
        // The worker's run makes two calls ($0.0012); the budget of $0.001 is then spent, so the AI review's first call
        // is refused: the agent ends budget-exceeded, not with a failed or unavailable gate.
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s => s["AGENT_MAX_COST_USD"] = "0.001");
        var remote = GitRemote.Create("budget-review");
        var body = JsonSerializer.Serialize(new
        {
            taskId = "T-budget-review",
            agentType = "worker",
            gates = new[] { "ai-review" },
            context = new { repository = remote.Bare, branch = "main" },
        });
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(body));
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("agentId").GetGuid();
        var worktree = await host.WorktreeOfAsync(id);
        api.Then(new FakeReply.ToolUse("Write", new { file_path = Path.Combine(worktree, "done.txt"), content = "done\n" }), new FakeReply.Text("Wrote it."));

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("reason").GetString() == "budget-exceeded", status.GetRawText());
        Assert.Contains("AGENT_MAX_COST_USD", status.GetProperty("error").GetString());
        Assert.Equal(2, api.Requests.Count);
        Assert.Equal(2 * OneCall, status.GetProperty("totalCostUsd").GetDouble(), 9);
        Assert.False(status.GetProperty("pushed").GetBoolean());
    }

    [Fact]
    public async Task While_the_daily_budget_is_spent_spawns_queue_but_no_agent_starts_and_readiness_and_the_stats_say_why()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await TestHost.StartAsync(s =>
        {
            s["CLAUDE_API_KEY"] = api.ApiKey;
            s["ANTHROPIC_BASE_URL"] = api.BaseUrl;
            s["DAILY_MAX_COST_USD"] = "0.0005";
            s["AGENT_COMMAND"] = """
                curl -sS -X POST "$MOSAIC_MODEL_BASE_URL/v1/messages" -H "x-api-key: $MOSAIC_MODEL_API_KEY" \
                  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
                  -d '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}' > answer.txt
                """;
        });
        var first = await host.SpawnAsync("T-daily-1");
        await host.Events.WaitForAsync(first, "agent.cleanup");
        Assert.Equal("completed", (await host.StatusAsync(first)).GetProperty("status").GetString());

        // The day's spend is now past the budget: a spawn is accepted and waits.
        var second = await host.SpawnAsync("T-daily-2");
        var worker = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<AgentWorker>().Single();
        var passes = worker.Passes;
        await Wait.UntilAsync(() => worker.Passes > passes + 2, "the worker to look at the queue again");
        var waiting = await host.StatusAsync(second);
        Assert.Equal("pending", waiting.GetProperty("taskState").GetString());
        Assert.Equal(0, waiting.GetProperty("attempt").GetInt32());
        Assert.Single(api.Requests);

        using var ready = await host.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var readiness = await ready.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("budget", Assert.Single(readiness.GetProperty("failing").EnumerateArray()).GetString());
        Assert.Contains("DAILY_MAX_COST_USD", readiness.GetProperty("checks").GetProperty("budget").GetProperty("detail").GetString());

        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Equal(1, stats.GetProperty("pending").GetInt64());
        Assert.Contains("DAILY_MAX_COST_USD", stats.GetProperty("notLeasing").GetString());
        Assert.Equal(OneCall, stats.GetProperty("spentTodayUsd").GetDouble(), 9);
        Assert.Equal(0.0005, stats.GetProperty("dailyMaxCostUsd").GetDouble(), 9);
    }
}
