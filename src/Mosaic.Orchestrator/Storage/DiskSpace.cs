using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Storage;

/// <summary>
/// DATA_DIR's free space against DISK_MIN_FREE_MB. Agents write into DATA_DIR (worktrees, logs); below the floor no
/// agent starts, readiness fails and the worker ends the running agent that uses the most space, so a runaway agent
/// cannot fill the disk to where the store can no longer write its own records (an agent left running past its
/// lease, a service that cannot restart). While there is room, the store's reserve (<see cref="StoreReserve"/>) is
/// written back if it was given up.
/// </summary>
public sealed class DiskSpace(IOptions<OrchestratorOptions> options, StoreReserve reserve)
{
    /// <summary>Null when there is room (or no floor is set), else how much is free against the floor.</summary>
    public string? Check()
    {
        var settings = options.Value;
        if (settings.DiskMinFreeMb <= 0)
        {
            return null;
        }

        var directory = settings.FullDataDir;
        long freeBytes;
        try
        {
            // statvfs of the folder's file system (DriveInfo takes any path on Linux).
            freeBytes = new DriveInfo(directory).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return $"cannot read the free space of {directory}: {ex.Message}";
        }

        var floorBytes = settings.DiskMinFreeMb * 1024L * 1024L;
        if (freeBytes < floorBytes)
        {
            return $"DATA_DIR {directory} has {freeBytes / (1024 * 1024)} MB free, below DISK_MIN_FREE_MB ({settings.DiskMinFreeMb}): no agent starts until space is freed";
        }

        reserve.Restore(freeBytes, floorBytes);
        return null;
    }
}
