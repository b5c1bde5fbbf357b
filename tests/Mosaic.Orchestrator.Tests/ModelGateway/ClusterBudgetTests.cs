using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.ModelGateway;

/// <summary>DAILY_MAX_COST_USD with the valkey backend: the day's spend is the cluster's, so one instance's spend stops them all.</summary>
public sealed class ClusterBudgetTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task One_instances_spend_spends_the_daily_budget_of_the_whole_cluster()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        var prefix = RedisFixture.NewPrefix();
        void Configure(Dictionary<string, string?> s, string node)
        {
            redis.Server.Configure(s, prefix);
            s["NODE_ID"] = node;
            s["CLAUDE_API_KEY"] = api.ApiKey;
            s["ANTHROPIC_BASE_URL"] = api.BaseUrl;
            s["DAILY_MAX_COST_USD"] = "0.0005"; // one call of the fake costs $0.0006
            s["AGENT_COMMAND"] = """
                curl -sS -X POST "$MOSAIC_MODEL_BASE_URL/v1/messages" -H "x-api-key: $MOSAIC_MODEL_API_KEY" \
                  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
                  -d '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}' > answer.txt
                """;
        }

        await using var first = await TestHost.StartAsync(s => Configure(s, "budget-a"));
        await using var second = await TestHost.StartAsync(s => Configure(s, "budget-b"));
        // Either instance may lease it: whichever runs it, its call is added to the one counter of the day.
        var spender = await first.SpawnAsync("T-cluster-spend");
        await Wait.UntilAsync(async () => (await first.StatusAsync(spender)).GetProperty("status").GetString() == "completed", "the first task to complete");

        foreach (var host in new[] { first, second })
        {
            await Wait.UntilAsync(async () =>
            {
                using var ready = await host.Client.GetAsync("/health/ready");
                return ready.StatusCode == HttpStatusCode.ServiceUnavailable;
            }, "every instance to see the day's budget spent");
        }

        var waiting = await second.SpawnAsync("T-cluster-wait");
        foreach (var host in new[] { first, second })
        {
            var worker = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<AgentWorker>().Single();
            var passes = worker.Passes;
            await Wait.UntilAsync(() => worker.Passes > passes + 2, "the worker to look at the queue again");
        }

        Assert.Equal(0, (await second.StatusAsync(waiting)).GetProperty("attempt").GetInt32());
        Assert.Single(api.Requests);
        var stats = await second.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        Assert.Contains("DAILY_MAX_COST_USD", stats.GetProperty("notLeasing").GetString());
        Assert.Equal(0.0006, stats.GetProperty("spentTodayUsd").GetDouble(), 9);
    }
}
