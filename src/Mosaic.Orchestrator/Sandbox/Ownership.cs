using System.Runtime.InteropServices;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// Hands folders the service made to the sandbox's uid, so the agent can write its workspace and HOME without either
/// being writable by everyone. The BCL has no chown; lchown changes a link itself, never what it points to.
/// </summary>
internal static partial class Ownership
{
    /// <summary>
    /// The folder and everything under it, never through a symbolic link: an agent's links (or a repository's) may point
    /// anywhere on the host, and following one would hand that to the agent.
    /// </summary>
    public static void GiveTree(string root, int uid)
    {
        Give(root, uid);
        var walk = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false };
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", walk))
        {
            Give(entry, uid);
        }
    }

    public static void Give(string path, int uid)
    {
        if (Lchown(path, uid, uid) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"could not hand {path} to uid {uid}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Lchown(string path, int owner, int group);
}
