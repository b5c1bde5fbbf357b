namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Who holds a lease: NODE_ID names the machine (its processes are ours to find and end), the instance id tells
/// this process from an earlier, dead one on the same node. Lease owners are "node/instance".
/// </summary>
public sealed class NodeIdentity(string node)
{
    public string Node { get; } = node;

    public string Instance { get; } = $"{node}/{Guid.NewGuid():N}";

    public static string NodeOf(string owner)
    {
        var slash = owner.LastIndexOf('/');
        return slash < 0 ? owner : owner[..slash];
    }
}
