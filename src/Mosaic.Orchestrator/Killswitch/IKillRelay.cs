using System.Threading.Channels;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Killswitch;

/// <summary>
/// Carries a kill from the instance that marked the agent killed to the one running it. Called after the record is
/// killed (and so fenced: its runner can no longer write); it stops the run, whose processes and workspace are then
/// ended and removed by their owner, or has the agent cleaned up here when no live instance runs it.
/// </summary>
public interface IKillRelay
{
    /// <summary>Returns once the run stopped here, its owner confirmed the stop, or a cleanup here was queued.</summary>
    /// <param name="killed">The record as the kill stored it.</param>
    /// <param name="prior">The record the kill replaced: its lease names the instance that was running the agent.</param>
    Task StopRunAsync(AgentRecord killed, AgentRecord prior, CancellationToken cancellationToken);
}

/// <summary>One instance (embedded store): the run is here or nowhere.</summary>
public sealed class LocalKillRelay(ActiveRuns runs, ChannelWriter<AgentRecord> cleanupQueue) : IKillRelay
{
    public async Task StopRunAsync(AgentRecord killed, AgentRecord prior, CancellationToken cancellationToken)
    {
        if (!runs.TryStop(killed.AgentId, StopReason.Killed))
        {
            await cleanupQueue.WriteAsync(killed, CancellationToken.None);
        }
    }
}
