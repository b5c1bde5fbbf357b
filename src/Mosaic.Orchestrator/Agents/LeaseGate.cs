using Mosaic.Orchestrator.Storage;

namespace Mosaic.Orchestrator.Agents;

/// <summary>Whether this instance may take work now: the store's file is there and DATA_DIR has room. Cheap: asked on every worker pass.</summary>
public sealed class LeaseGate(IStorageHealth store, DiskSpace disk)
{
    /// <summary>Null when leasing may go on, else why not.</summary>
    public string? WhyNot() => store.QuickCheck() ?? disk.Check();

    /// <summary>Null when DATA_DIR has room above DISK_MIN_FREE_MB, else how much is free.</summary>
    public string? DiskLow() => disk.Check();
}
