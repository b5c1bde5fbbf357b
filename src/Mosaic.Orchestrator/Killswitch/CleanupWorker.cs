using System.Threading.Channels;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Killswitch;

/// <summary>
/// Cleans up killed agents that have no run in this instance (queued, or left by a dead instance): ends any
/// process carrying their marker, removes the workspace, publishes agent.cleanup. Owned background work, so a
/// kill answers at once even when ending the processes takes the whole grace period.
/// </summary>
public sealed partial class CleanupWorker(ChannelReader<AgentRecord> requests, AgentCleanup cleanup, ILogger<CleanupWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var agent in requests.ReadAllAsync(stoppingToken))
            {
                try
                {
                    // Always look by marker: the record may no longer name a process (a lease that expired was requeued
                    // just before the kill) while a dead instance's orphans still run on this machine.
                    await cleanup.RunAsync(agent, endProcesses: true, publish: true, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogCleanupFailed(logger, ex, agent.AgentId);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down; a pending cleanup's workspace is removed by the next start's reconciliation.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Cleanup of agent {AgentId} failed")]
    private static partial void LogCleanupFailed(ILogger logger, Exception ex, Guid agentId);
}
