using System.Text;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Scans one file's bytes: inside it when it is an archive (<see cref="ArchiveScanner"/>, each file inside scanned the
/// same way), else its text unless it is binary (a NUL in the first 8000 bytes, git's test), then the file-name rules
/// when the content gave no finding. Shared by path scans and by the archives that commits add.
/// </summary>
internal sealed class ContentScanner(SecretEngine engine, bool archives, List<string> skipped) : IArchiveSink
{
    private const int BinaryProbeBytes = 8000;

    private List<SecretFinding> _findings = [];
    private string? _commit;

    /// <param name="commit">The commit that added the file (diff scans), for the findings.</param>
    public void Scan(string name, byte[] content, string? commit, List<SecretFinding> findings)
    {
        _findings = findings;
        _commit = commit;
        ScanContent(name, content);
    }

    void IArchiveSink.ScanFile(string name, byte[] content)
    {
        if (!engine.IsPathAllowed(name))
        {
            ScanContent(name, content);
        }
    }

    void IArchiveSink.Skipped(string reason) => skipped.Add(reason);

    private void ScanContent(string name, byte[] content)
    {
        if (archives && ArchiveScanner.TryScan(name, content, this, _findings, commit: _commit))
        {
            return;
        }

        var found = 0;
        var binary = content.AsSpan(0, Math.Min(content.Length, BinaryProbeBytes)).IndexOf((byte)0) >= 0;
        if (!binary)
        {
            found = engine.Scan(new ScanFragment { File = name, Commit = _commit, Text = Encoding.UTF8.GetString(content) }, _findings);
        }

        if (found == 0 && content.Length > 0)
        {
            engine.ScanFileName(name, _commit, binary, () => SecretFingerprint.BlobId(content), _findings);
        }
    }
}
