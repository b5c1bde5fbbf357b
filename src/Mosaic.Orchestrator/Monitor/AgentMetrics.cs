using System.Diagnostics.Metrics;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Monitor;

/// <summary>
/// What agents did, as counters and histograms on the "Mosaic.Orchestrator" meter (Prometheus names in the README).
/// Fed from where it is written: every transition (<see cref="AgentTransitions"/>), every run report
/// (<see cref="LeasedAttempt.RecordRunAsync"/>) and every lease of the worker (<see cref="AgentWorker"/>). Counted once per stored change, so a lost compare-and-set race, which
/// is retried, is not counted twice.
/// </summary>
public sealed class AgentMetrics
{
    public const string MeterName = "Mosaic.Orchestrator";

    // Seconds from sub-second git work to hour-long agent runs.
    private static readonly double[] SecondsBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

    private readonly Counter<long> _finished;
    private readonly Histogram<double> _startLatency;
    private readonly Histogram<double> _runDuration;
    private readonly Counter<long> _gateVerdicts;
    private readonly Counter<long> _secretFindings;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _leased;

    public AgentMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        var seconds = new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets };
        _finished = meter.CreateCounter<long>("mosaic_agents_finished", description: "Agents that ended, by status (completed, failed, killed) and reason.");
        _startLatency = meter.CreateHistogram("mosaic_agent_start_latency", "s", "From spawn to the agent's start (its workspace ready).", advice: seconds);
        _runDuration = meter.CreateHistogram("mosaic_agent_run_duration", "s", "From the agent's first start to its end, by status.", advice: seconds);
        _gateVerdicts = meter.CreateCounter<long>("mosaic_gate_verdicts", description: "Gate verdicts, by gate and status (passed, failed, not-configured, skipped).");
        _secretFindings = meter.CreateCounter<long>("mosaic_secret_findings", description: "Secrets found in agents' commits (at most 100 kept per agent).");
        _tokens = meter.CreateCounter<long>("mosaic_tokens", description: "Model tokens the runtime reported, by type (input, output, cache_read, cache_creation).");
        _cost = meter.CreateCounter<double>("mosaic_cost_usd", description: "Cost in US dollars the runtime reported.");
        _leased = meter.CreateCounter<long>("mosaic_tasks_leased",
            description: "Tasks this node's worker leased, by how: by its loop, or with an attempt's end in the same store step (end).");
    }

    /// <summary>A task the worker leased: by its loop, or <paramref name="withEnd"/> in the same store step as an attempt's end.</summary>
    public void Leased(bool withEnd) => _leased.Add(1, new KeyValuePair<string, object?>("by", withEnd ? "end" : "loop"));

    /// <summary>A stored change of an agent's record, with the event it published (if any).</summary>
    public void Changed(AgentRecord before, AgentRecord after, string? eventType)
    {
        if (after.Status != before.Status)
        {
            if (after.Status == AgentStatus.Running && before.Status == AgentStatus.Spawning && after.StartedAt is { } started)
            {
                _startLatency.Record(Seconds(started - after.SpawnedAt));
            }

            if (AgentLifecycle.IsTerminal(after.Status))
            {
                var status = StatusName(after.Status);
                _finished.Add(1, new("status", status), new("reason", after.Reason ?? "none"));
                if (after.StartedAt is { } from && after.CompletedAt is { } to)
                {
                    _runDuration.Record(Seconds(to - from), new KeyValuePair<string, object?>("status", status));
                }
            }
        }

        if (eventType == AgentEventTypes.Gate && after.Gates is [.., var gate])
        {
            _gateVerdicts.Add(1, new("gate", gate.Gate), new("status", gate.Status));
        }

        var found = (after.SecretFindings?.Count ?? 0) - (before.SecretFindings?.Count ?? 0);
        if (found > 0)
        {
            _secretFindings.Add(found);
        }
    }

    /// <summary>What one run of the runtime reported: its tokens and cost, when it reported them.</summary>
    public void RunReported(AgentRunReport report)
    {
        if (report.Tokens is { } tokens)
        {
            _tokens.Add(tokens.Input, new KeyValuePair<string, object?>("type", "input"));
            _tokens.Add(tokens.Output, new KeyValuePair<string, object?>("type", "output"));
            _tokens.Add(tokens.CacheRead, new KeyValuePair<string, object?>("type", "cache_read"));
            _tokens.Add(tokens.CacheCreation, new KeyValuePair<string, object?>("type", "cache_creation"));
        }

        if (report.CostUsd is { } cost and > 0)
        {
            _cost.Add(cost);
        }
    }

    public static string StatusName(AgentStatus status) => status.ToString().ToLowerInvariant();

    private static double Seconds(TimeSpan span) => Math.Max(0, span.TotalSeconds);
}
