using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Storage;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents;

/// <summary>What one sweep removed.</summary>
public sealed record RetentionReport(int Agents, long Events);

/// <summary>
/// RETENTION_DAYS: once an hour (and at start), agents that ended longer ago than that go, with their logs, their
/// kept sessions and their WIP branch, and so do older events; a live agent never. The audit trail stays. With Valkey
/// every instance sweeps; deleting twice is harmless.
/// </summary>
public sealed partial class RetentionSweep(
    IRetentionStore store,
    IWipBranches branches,
    IOptions<OrchestratorOptions> options,
    TimeProvider time,
    ILogger<RetentionSweep> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private const int Batch = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.RetentionDays <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(time.GetUtcNow(), stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(logger, ex); // the next sweep tries again
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Removes what ended more than RETENTION_DAYS before <paramref name="now"/>.</summary>
    public async Task<RetentionReport> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.RetentionDays <= 0)
        {
            return new RetentionReport(0, 0);
        }

        var cutoff = now - TimeSpan.FromDays(settings.RetentionDays);
        var agents = 0;
        IReadOnlyList<AgentRecord> ended;
        do
        {
            ended = await store.ListEndedBeforeAsync(cutoff, Batch, cancellationToken);
            foreach (var agent in ended)
            {
                // Git and files first: once the record is gone, nothing would remember them.
                await branches.ForgetAsync(agent, cancellationToken);
                AgentFolder.For(settings.FullDataDir, agent.AgentId).Remove();
            }

            agents += await store.DeleteEndedAsync([.. ended.Select(a => a.AgentId)], cancellationToken);
        }
        while (ended.Count == Batch);

        var events = await store.DeleteEventsBeforeAsync(cutoff, cancellationToken);
        if (agents > 0 || events > 0)
        {
            LogSwept(logger, agents, events, settings.RetentionDays);
        }

        return new RetentionReport(agents, events);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: removed {Agents} ended agents and {Events} events older than {Days} days")]
    private static partial void LogSwept(ILogger logger, int agents, long events, int days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention sweep failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception ex);
}
