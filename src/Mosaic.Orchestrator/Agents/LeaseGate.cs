using Mosaic.Orchestrator.Storage;

namespace Mosaic.Orchestrator.Agents;

/// <summary>Whether this instance may take work now: the store's file is there, DATA_DIR has room, the model account may spend. Cheap: asked on every worker pass.</summary>
public sealed class LeaseGate(IStorageHealth store, DiskSpace disk, ModelGateway.ModelAccount model)
{
    /// <summary>Null when leasing may go on, else why not (the model account's reasons too: a spent daily budget, a rate-limit park).</summary>
    public string? WhyNot() => store.QuickCheck() ?? disk.Check() ?? model.WhyNot();

    /// <summary>Null when DATA_DIR has room above DISK_MIN_FREE_MB, else how much is free.</summary>
    public string? DiskLow() => disk.Check();
}
