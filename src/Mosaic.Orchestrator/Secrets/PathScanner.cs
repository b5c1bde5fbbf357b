using System.Text;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Scans files and folders as they are on disk: every regular file under the given paths, except <c>.git</c>
/// folders, symbolic links (a link can point anywhere, or at itself: each is listed with its target and never
/// followed; a target inside the scanned tree is scanned there) and files over the size limit, which are listed in
/// <see cref="Skipped"/> instead. Archives and compressed files are scanned inside (<see cref="ArchiveScanner"/>) unless
/// the constructor's archives is false. A file with a NUL byte in its first 8000 bytes is binary (git's test): only
/// the file-name rules apply to it. Single-threaded.
/// </summary>
internal sealed class PathScanner
{
    private readonly SecretEngine _engine;
    private readonly long _maxFileBytes;
    private readonly ContentScanner _content;
    private string? _root;

    public PathScanner(SecretEngine engine, long maxFileBytes = DefaultMaxFileBytes, bool archives = true)
    {
        _engine = engine;
        _maxFileBytes = maxFileBytes;
        _content = new ContentScanner(engine, archives, Skipped);
    }

    public const long DefaultMaxFileBytes = 10 * 1024 * 1024;

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
            _root = Directory.Exists(full) ? full : Path.GetDirectoryName(full);
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
        if (info.LinkTarget is { } target)
        {
            var resolved = Path.GetFullPath(target, Path.GetDirectoryName(full)!);
            var inside = _root is not null && (resolved + Path.DirectorySeparatorChar).StartsWith(_root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
            Skipped.Add(inside
                ? $"{name}: symbolic link to {target}, not followed (the target is inside the scanned tree and scanned there)"
                : $"{name}: symbolic link to {target}, outside the scanned tree: not followed");
            return;
        }

        if (_engine.IsPathAllowed(name))
        {
            return;
        }

        if (info.Length > _maxFileBytes)
        {
            Skipped.Add($"{name}: {info.Length} bytes, over the limit of {_maxFileBytes}");
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
        _content.Scan(name, content, commit: null, findings);
    }
}
