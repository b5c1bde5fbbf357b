using System.Diagnostics;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// A real small file system (tmpfs of a few MB) for a DATA_DIR that can fill up: writes past its size fail with
/// ENOSPC as on a full disk. Mounting needs root (CI and this machine's test runs are root); where it is refused,
/// <see cref="TryMount"/> answers null and the test says so instead of pretending.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    public static SmallDisk? TryMount(int megabytes)
    {
        var path = TempDirectory.Create("disk");
        var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        });
        if (mount is null)
        {
            return null;
        }

        mount.WaitForExit();
        return mount.ExitCode == 0 ? new SmallDisk(path) : null;
    }

    /// <summary>Fills what is left with one file (until ENOSPC); returns its path.</summary>
    public string Fill(string name = "filler.bin")
    {
        var filler = System.IO.Path.Combine(Path, name);
        var chunk = new byte[1024 * 1024];
        using var stream = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
            // full
        }

        try
        {
            // Whatever is left below a chunk.
            while (true)
            {
                stream.Write(chunk, 0, 4096);
            }
        }
        catch (IOException)
        {
            // full
        }

        return filler;
    }

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    public void Dispose()
    {
        // Lazy: a process that still has a file open there (a host being disposed) does not keep the mount.
        using var umount = Process.Start(new ProcessStartInfo("umount", ["-l", Path]) { RedirectStandardError = true });
        umount?.WaitForExit();
    }
}
