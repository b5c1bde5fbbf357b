using System.Diagnostics.Metrics;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Monitor;

/// <summary>
/// Queue depth and running agents as observable gauges. A gauge's callback is synchronous and the stats are a store
/// read (SQLite or a Valkey round trip), so the read happens before the scrape, asynchronously and bounded by
/// <see cref="ReadTimeout"/> (<see cref="RefreshAsync"/>, called by /metrics); the callbacks only read what it cached.
/// A read that fails or times out clears the figures: the gauges then report nothing rather than stale numbers.
/// </summary>
public sealed partial class QueueGauges
{
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly IQueueAdmin _admin;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueGauges> _logger;
    private volatile QueueStats? _stats;

    public QueueGauges(IMeterFactory meters, IQueueAdmin admin, TimeProvider time, ILogger<QueueGauges> logger)
    {
        _admin = admin;
        _time = time;
        _logger = logger;
        var meter = meters.Create(AgentMetrics.MeterName);
        meter.CreateObservableGauge("mosaic_queue_pending", () => Read(s => s.Pending), description: "Tasks waiting in the queue and due now.");
        meter.CreateObservableGauge("mosaic_queue_delayed", () => Read(s => s.Delayed), description: "Tasks waiting for a retry's due time.");
        meter.CreateObservableGauge("mosaic_queue_paused", () => Read(s => s.Paused ? 1 : 0), description: "1 while the queue is paused (no leases).");
        meter.CreateObservableGauge("mosaic_agents_running", () => Read(s => s.Active), description: "Tasks leased by a worker (assigned or executing), on every node.");
    }

    /// <summary>Reads the stats the next collection reports.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(ReadTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            _stats = await _admin.GetStatsAsync(_time.GetUtcNow(), linked.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _stats = null;
            LogStatsUnread(_logger, ex);
        }
    }

    private IEnumerable<Measurement<long>> Read(Func<QueueStats, long> figure) =>
        _stats is { } stats ? [new Measurement<long>(figure(stats))] : [];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue stats for /metrics could not be read; the queue gauges are left out of this scrape")]
    private static partial void LogStatsUnread(ILogger logger, Exception ex);
}
