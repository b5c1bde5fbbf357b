using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Storage;

/// <summary>
/// DISK_RESERVE_MB of allocated space in DATA_DIR (<c>orchestrator.reserve</c>, real blocks, not a sparse file) that the
/// service gives up when its disk is full, so that it can still write what it must: the end of an agent that filled
/// the disk, a kill, and its own start (SQLite must create its WAL and write at open). Given up at the first write
/// that fails for space and at a start on a full disk; written again once DATA_DIR has room above DISK_MIN_FREE_MB.
/// </summary>
public sealed class StoreReserve
{
    public const string FileName = "orchestrator.reserve";
    private readonly object _gate = new();

    public StoreReserve(IOptions<OrchestratorOptions> options)
        : this(options.Value.FullDataDir, options.Value.DiskReserveMb)
    {
    }

    public StoreReserve(string dataDir, int megabytes)
    {
        Path = System.IO.Path.Combine(dataDir, FileName);
        Bytes = megabytes * 1024L * 1024L;
    }

    public string Path { get; }

    public long Bytes { get; }

    public bool Present => File.Exists(Path);

    /// <summary>Writes the reserve when it is missing and there is room for it on top of <paramref name="keepFreeBytes"/>.</summary>
    public void Restore(long freeBytes, long keepFreeBytes)
    {
        if (Bytes <= 0 || freeBytes < Bytes + keepFreeBytes || Present)
        {
            return;
        }

        lock (_gate)
        {
            try
            {
                // preallocationSize is posix_fallocate: the blocks are taken now, so deleting the file frees them.
                using var handle = File.OpenHandle(Path + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, Bytes);
                handle.Dispose();
                File.Move(Path + ".tmp", Path, overwrite: true);
            }
            catch (IOException)
            {
                TryDelete(Path + ".tmp"); // the room went meanwhile: try again at a later look
            }
        }
    }

    /// <summary>Gives the reserve up; true when it was there (so a write that failed for space may succeed now).</summary>
    public bool Release()
    {
        lock (_gate)
        {
            TryDelete(Path + ".tmp");
            return TryDelete(Path);
        }
    }

    /// <summary>At start, before the store opens: a disk with less free space than the reserve gets the reserve back.</summary>
    public void ReleaseIfFull(string dataDir)
    {
        try
        {
            Directory.CreateDirectory(dataDir);
            if (new DriveInfo(dataDir).AvailableFreeSpace < Math.Max(Bytes, 1024L * 1024L))
            {
                Release();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // cannot tell: the store's own open says what is wrong
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return false;
            }

            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
