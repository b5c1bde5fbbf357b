using System.Diagnostics.Metrics;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Monitor;
using Mosaic.Orchestrator.Tests.Support;
using OpenTelemetry.Trace;

namespace Mosaic.Orchestrator.Tests.Monitor;

public sealed class AgentMetricsTests
{
    [Fact]
    public void A_run_report_adds_its_tokens_by_type_and_its_cost()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new AgentMetrics(factory);
        var seen = new List<(string Name, double Value, string? Type)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => seen.Add((i.Name, v, TypeOf(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => seen.Add((i.Name, v, TypeOf(tags))));
        listener.Start();

        metrics.RunReported(new AgentRunReport { Runtime = "claude-code", CostUsd = 0.25, Tokens = new TokenUsage(100, 20, 300, 40) });
        metrics.RunReported(new AgentRunReport { Runtime = "command" }); // reports neither

        Assert.Equal(
            [("mosaic_tokens", 100, "input"), ("mosaic_tokens", 20, "output"), ("mosaic_tokens", 300, "cache_read"),
             ("mosaic_tokens", 40, "cache_creation"), ("mosaic_cost_usd", 0.25, null)],
            seen);
    }

    [Fact]
    public async Task A_metric_keeps_a_bounded_number_of_series_and_counts_the_rest_in_the_overflow_series()
    {
        await using var host = await TestHost.StartAsync();
        var metrics = host.Get<AgentMetrics>();
        var running = new AgentRecord
        {
            AgentId = Guid.NewGuid(),
            TaskId = "T-series",
            AgentType = AgentType.Worker,
            GateProfile = GateProfile.Standard,
            Priority = 5,
            Context = new AgentContext("https://git.example/repo.git", "main", [], []),
            Status = AgentStatus.Running,
            TaskState = TaskState.Executing,
            SpawnedAt = DateTimeOffset.UnixEpoch,
            MaxAttempts = 3,
        };
        var distinct = MonitoringSetup.SeriesPerMetric + 100;
        for (var i = 0; i < distinct; i++)
        {
            metrics.Changed(running, running with { Status = AgentStatus.Failed, Reason = $"reason-{i}" }, eventType: null);
        }

        // The limit comes with a view, which must keep the histograms' own buckets (seconds, up to two hours).
        metrics.Changed(running with { Status = AgentStatus.Spawning }, running with { StartedAt = DateTimeOffset.UnixEpoch.AddSeconds(3) }, eventType: null);

        var samples = PrometheusText.Parse(await host.Client.GetStringAsync("/metrics"));
        Assert.Equal(["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "300", "600", "1200", "1800", "3600", "7200", "+Inf"],
            samples.Where(s => s.Name == "mosaic_agent_start_latency_seconds_bucket").Select(s => s.Labels["le"]));
        var finished = samples.Where(s => s.Name == "mosaic_agents_finished_total").ToList();
        var overflow = finished.Where(s => s.Labels.GetValueOrDefault("otel_metric_overflow") == "true").ToList();
        Assert.InRange(finished.Count - overflow.Count, MonitoringSetup.SeriesPerMetric - 1, MonitoringSetup.SeriesPerMetric);
        Assert.Single(overflow);
        Assert.Equal(distinct, finished.Sum(s => s.Value)); // none lost: the ones past the limit are in the overflow series
    }

    [Fact]
    public async Task A_host_counts_only_its_own_agents_when_several_share_the_process()
    {
        await using var busy = await TestHost.StartAsync();
        await using var idle = await TestHost.StartAsync();
        var id = await busy.SpawnAsync("T-metrics-own");
        await Wait.UntilAsync(async () => (await busy.StatusAsync(id)).GetProperty("status").GetString() == "completed", "the agent to complete",
            TimeSpan.FromSeconds(60));

        var mine = PrometheusText.Parse(await busy.Client.GetStringAsync("/metrics"));
        var theirs = PrometheusText.Parse(await idle.Client.GetStringAsync("/metrics"));
        Assert.Equal(1, mine.Sum("mosaic_agents_finished_total", ("status", "completed")));
        Assert.Equal(0, theirs.Sum("mosaic_agents_finished_total"));
        Assert.Equal(0, theirs.Sum("mosaic_agent_start_latency_seconds_count"));
    }

    [Fact]
    public async Task Traces_are_exported_only_when_an_OTLP_endpoint_is_set()
    {
        await using (var plain = await TestHost.StartAsync())
        {
            Assert.Null(plain.Services.GetService<TracerProvider>());
        }

        // Nothing listens there: the exporter drops what it cannot send, and the service runs as before.
        await using var exporting = await TestHost.StartAsync(s => s[MonitoringSetup.OtlpEndpointSetting] = "http://127.0.0.1:9");
        Assert.NotNull(exporting.Services.GetService<TracerProvider>());
        using var health = await exporting.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static string? TypeOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "type")
            {
                return (string?)tag.Value;
            }
        }

        return null;
    }
}
