using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Monitor;

public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_match_the_queue_stats_and_what_the_agents_did()
    {
        await using var host = await TestHost.StartAsync();
        var completed = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            completed.Add(await host.SpawnAsync($"T-metrics-{i}"));
        }

        var failed = await host.SpawnAsync("T-metrics-bad", branch: "no-such-branch");
        var records = new Dictionary<Guid, JsonElement>();
        foreach (var id in completed.Append(failed))
        {
            await Wait.UntilAsync(async () => (records[id] = await host.StatusAsync(id)).GetProperty("status").GetString() is "completed" or "failed",
                $"agent {id} to end", TimeSpan.FromSeconds(60));
        }

        Assert.All(completed, id => Assert.Equal("completed", records[id].GetProperty("status").GetString()));
        Assert.Equal("bad-repository", records[failed].GetProperty("reason").GetString());

        // With the queue paused, one more spawn waits: the depth gauges have something to show.
        (await host.Client.PostAsync("/agents/queue/pause", null)).EnsureSuccessStatusCode();
        await host.SpawnAsync("T-metrics-waiting");

        var stats = await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats");
        using var response = await host.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var samples = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        Assert.All(samples.Where(s => s.Name.StartsWith("mosaic", StringComparison.Ordinal)), s => Assert.StartsWith("mosaic_", s.Name));

        Assert.Equal(1, stats.GetProperty("pending").GetInt64());
        Assert.Equal(stats.GetProperty("pending").GetInt64(), samples.Sum("mosaic_queue_pending"));
        Assert.Equal(stats.GetProperty("delayed").GetInt64(), samples.Sum("mosaic_queue_delayed"));
        Assert.Equal(stats.GetProperty("active").GetInt64(), samples.Sum("mosaic_agents_running"));
        Assert.Equal(1, samples.Sum("mosaic_queue_paused"));

        Assert.Equal(3, stats.GetProperty("completed").GetInt64());
        Assert.Equal(stats.GetProperty("completed").GetInt64(), samples.Sum("mosaic_agents_finished_total", ("status", "completed")));
        Assert.Equal(stats.GetProperty("failed").GetInt64(), samples.Sum("mosaic_agents_finished_total", ("status", "failed")));
        Assert.Equal(1, samples.Sum("mosaic_agents_finished_total", ("status", "failed"), ("reason", "bad-repository")));
        Assert.Equal(0, samples.Sum("mosaic_agents_finished_total", ("status", "killed")));

        // Three agents started (the bad branch failed while preparing, before its start); all four ended, three after a start.
        Assert.Equal(3, samples.Sum("mosaic_agent_start_latency_seconds_count"));
        Assert.Equal(3, samples.Sum("mosaic_agent_run_duration_seconds_count", ("status", "completed")));
        Assert.Equal(3, samples.Sum("mosaic_agent_start_latency_seconds_bucket", ("le", "+Inf")));
        Assert.True(samples.Sum("mosaic_agent_run_duration_seconds_sum") > 0);

        // Every verdict on the records, by gate and status, and nothing else.
        var verdicts = completed.SelectMany(id => records[id].GetProperty("gates").EnumerateArray())
            .GroupBy(g => (Gate: g.GetProperty("gate").GetString()!, Status: g.GetProperty("status").GetString()!))
            .ToDictionary(g => g.Key, g => g.Count());
        Assert.NotEmpty(verdicts);
        foreach (var ((gate, status), count) in verdicts)
        {
            Assert.Equal(count, samples.Sum("mosaic_gate_verdicts_total", ("gate", gate), ("status", status)));
        }

        Assert.Equal(verdicts.Values.Sum(), samples.Sum("mosaic_gate_verdicts_total"));
        Assert.Equal(0, samples.Sum("mosaic_secret_findings_total"));
    }
}
