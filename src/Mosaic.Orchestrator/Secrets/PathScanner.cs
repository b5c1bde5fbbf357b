using System.Text;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Scans files and folders as they are on disk: every regular file under the given paths, except <c>.git</c>
/// folders, symbolic links (a link can point anywhere, or at itself) and files over the size limit, which are listed
/// in <see cref="Skipped"/> instead. A file with a NUL byte in its first 8000 bytes is binary (git's test): only the
/// file-name rules apply to it. Single-threaded.
/// </summary>
internal sealed class PathScanner(SecretEngine engine, long maxFileBytes = PathScanner.DefaultMaxFileBytes)
{
    public const long DefaultMaxFileBytes = 10 * 1024 * 1024;

    private const int BinaryProbeBytes = 8000;

    /// <summary>Files not scanned, with the reason, for the user to see.</summary>
    public List<string> Skipped { get; } = [];

    public long BytesScanned { get; private set; }

    public int FilesScanned { get; private set; }

    /// <summary>Scans the paths; reported file names are relative to <paramref name="workingDirectory"/>.</summary>
    public void Scan(IEnumerable<string> paths, string workingDirectory, List<SecretFinding> findings)
    {
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path, workingDirectory);
            if (File.Exists(full))
            {
                ScanFile(full, workingDirectory, findings);
            }
            else if (Directory.Exists(full))
            {
                ScanDirectory(full, workingDirectory, findings);
            }
            else
            {
                throw new FileNotFoundException($"no such file or directory: {path}", path);
            }
        }
    }

    private void ScanDirectory(string root, string workingDirectory, List<SecretFinding> findings)
    {
        var pending = new Stack<string>();
        pending.Push(root);
        // Linked folders are not entered (a link can point at its parent); linked files are listed as skipped.
        var folders = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        var files = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 };
        while (pending.TryPop(out var directory))
        {
            // Sorted, so the report has the same order on every machine.
            foreach (var file in Directory.EnumerateFiles(directory, "*", files).Order(StringComparer.Ordinal))
            {
                ScanFile(file, workingDirectory, findings);
            }

            foreach (var child in Directory.EnumerateDirectories(directory, "*", folders).Order(StringComparer.Ordinal).Reverse())
            {
                if (Path.GetFileName(child) != ".git")
                {
                    pending.Push(child);
                }
            }
        }
    }

    private void ScanFile(string full, string workingDirectory, List<SecretFinding> findings)
    {
        var name = Path.GetRelativePath(workingDirectory, full).Replace(Path.DirectorySeparatorChar, '/');
        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
        {
            Skipped.Add($"{name}: symbolic link");
            return;
        }

        if (engine.IsPathAllowed(name))
        {
            return;
        }

        if (info.Length > maxFileBytes)
        {
            Skipped.Add($"{name}: {info.Length} bytes, over the limit of {maxFileBytes}");
            return;
        }

        byte[] content;
        try
        {
            content = File.ReadAllBytes(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Skipped.Add($"{name}: {ex.Message}");
            return;
        }

        FilesScanned++;
        BytesScanned += content.Length;
        var found = 0;
        if (content.AsSpan(0, Math.Min(content.Length, BinaryProbeBytes)).IndexOf((byte)0) < 0)
        {
            found = engine.Scan(new ScanFragment { File = name, Text = Encoding.UTF8.GetString(content) }, findings);
        }

        if (found == 0 && content.Length > 0)
        {
            engine.ScanFileName(name, commit: null, () => SecretFingerprint.BlobId(content), findings);
        }
    }
}
