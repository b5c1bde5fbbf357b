namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Whether this instance holds its NODE_ID. Recovery treats leases of "this node's other instances" as a dead
/// predecessor's, and a worker leases tasks, only while the claim is held: two live instances sharing a NODE_ID would
/// otherwise take each other's tasks and end each other's agents. The embedded store's DATA_DIR lock is the claim
/// there (held from the start); the Valkey backend holds it through a key that expires without renewal.
/// </summary>
public sealed class NodeClaim
{
    private readonly TaskCompletionSource _firstHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _held;

    public bool Held => _held;

    /// <summary>Completes when the claim is held for the first time.</summary>
    public Task FirstHeld => _firstHeld.Task;

    public static NodeClaim HeldFromStart()
    {
        var claim = new NodeClaim();
        claim.Set(true);
        return claim;
    }

    public void Set(bool held)
    {
        _held = held;
        if (held)
        {
            _firstHeld.TrySetResult();
        }
    }
}
