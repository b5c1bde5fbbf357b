using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// The worker's side of "end an attempt and lease the next" (<see cref="ITaskQueue.TryReplaceAndLeaseNextAsync"/>):
/// whether the slot an ending attempt frees would lease again now, and where a task leased with that end goes.
/// </summary>
public interface IWorkerSlot
{
    /// <summary>
    /// The lease to take the slot's next task with, or null where the worker's own loop would not lease now: it is
    /// stopping, another instance holds this NODE_ID, the store, the disk or the model account says not to take work
    /// (<see cref="LeaseGate"/>), or no slot is free. The queue itself still refuses while paused or at MAX_CONCURRENT_AGENTS.
    /// </summary>
    LeaseRequest? NextLease();

    /// <summary>
    /// Runs a task leased with an attempt's end. It is never dropped: a worker that is stopping stops it at once, which
    /// sends it back to the queue without spending its attempt.
    /// </summary>
    void Run(AgentRecord leased);
}
