using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Takes back tasks whose worker is gone. At start: leases held by an earlier, dead instance of this node (their
/// processes are found by marker and ended first). While running: leases that expired, whoever held them.
/// Either way the task goes back to the queue with backoff, or fails once its attempts are spent.
/// </summary>
public sealed partial class LeaseRecovery(
    IAgentStore store,
    ITaskQueue queue,
    ActiveRuns runs,
    AgentTransitions transitions,
    AgentCleanup cleanup,
    IAgentProcesses processes,
    IWorkspaceProvider workspaces,
    AuditTrail audit,
    NodeIdentity node,
    TimeProvider time,
    ILogger<LeaseRecovery> logger)
{
    public async Task RecoverOrphansAsync(CancellationToken cancellationToken)
    {
        foreach (var agent in await store.ListLiveAsync(cancellationToken))
        {
            if (agent.Lease is { } lease && lease.Owner != node.Instance && NodeIdentity.NodeOf(lease.Owner) == node.Node)
            {
                await RequeueAsync(agent, lease, new Failure(FailureReason.OrchestratorRestart, "the orchestrator stopped while this attempt ran"), null, cancellationToken);
            }
        }

        // Processes of agents that ended while this node was down (killed during the grace period, say): their
        // records no longer hold a lease that recovery would follow, so find them by marker.
        foreach (var (agentId, count) in await processes.FindAgentsAsync(cancellationToken))
        {
            if (await store.GetAsync(agentId, cancellationToken) is { } stray && (!stray.IsLive || stray.Lease is null))
            {
                var ended = await cleanup.EndProcessesAsync(stray);
                LogStrayProcesses(logger, agentId, count, ended.Count);
            }
        }

        var live = (await store.ListLiveAsync(cancellationToken)).Where(a => a.Lease is not null).Select(a => a.AgentId).ToHashSet();
        var removed = await workspaces.ReconcileAsync(live, cancellationToken);
        if (removed > 0)
        {
            LogWorkspacesReconciled(logger, removed);
        }
    }

    public async Task SweepExpiredAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var agent in await queue.ListExpiredLeasesAsync(now, cancellationToken))
        {
            var lease = agent.Lease!;
            if (lease.Owner == node.Instance && runs.TryStop(agent.AgentId, StopReason.LeaseLost))
            {
                continue; // our own run missed its heartbeat: it ends its processes and requeues itself
            }

            await RequeueAsync(agent, lease, new Failure(FailureReason.LeaseExpired, $"the lease of {lease.Owner} expired"), now, cancellationToken);
        }
    }

    private async Task RequeueAsync(AgentRecord agent, TaskLease lease, Failure failure, DateTimeOffset? expiredBefore, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["AgentId"] = agent.AgentId, ["TaskId"] = agent.TaskId });
        var local = NodeIdentity.NodeOf(lease.Owner) == node.Node;
        try
        {
            AgentRecord settled;
            if (local)
            {
                // The dead attempt's processes are still ours to end before anything else runs the task.
                var ended = await cleanup.EndProcessesAsync(agent);
                settled = await transitions.RequeueAsync(agent.AgentId, failure, lease, cancellationToken, leaseExpiredBefore: expiredBefore);
                await cleanup.RunAsync(settled, endProcesses: false, publish: !settled.IsLive, cancellationToken);
                LogRecovered(logger, agent.AgentId, failure.Code, ended.Count, settled.Status.ToString());
            }
            else
            {
                settled = await transitions.RequeueAsync(agent.AgentId, failure, lease, cancellationToken, leaseExpiredBefore: expiredBefore);
                LogRecovered(logger, agent.AgentId, failure.Code, 0, settled.Status.ToString());
            }

            await audit.RecordAsync(new AuditEntry("recover", node.Instance, agent.AgentId, agent.TaskId, failure.Code, agent.Status.ToString().ToLowerInvariant(), time.GetUtcNow()), cancellationToken);
        }
        catch (Exception ex) when (ex is LeaseLostException or IllegalTransitionException)
        {
            // Renewed, requeued or ended by someone else in the meantime: nothing to recover.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId} is not running here but {Found} of its processes were: ended {Ended}")]
    private static partial void LogStrayProcesses(ILogger logger, Guid agentId, int found, int ended);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} workspaces of agents that are no longer live")]
    private static partial void LogWorkspacesReconciled(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered agent {AgentId} ({Reason}): {Signalled} processes ended, now {Status}")]
    private static partial void LogRecovered(ILogger logger, Guid agentId, string reason, int signalled, string status);
}
