using System.Text.Json;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Events;

/// <summary>
/// Writes each audit entry twice: to the store (queryable) and to an append-only JSONL file under DATA_DIR
/// (kept even if the store is wiped, readable with grep and jq).
/// </summary>
public sealed class AuditTrail(IAuditStore store, string filePath) : IDisposable
{
    private readonly SemaphoreSlim _fileGate = new(1, 1);

    public string FilePath { get; } = filePath;

    public async Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        await store.AppendAsync(entry, cancellationToken);
        var line = JsonSerializer.Serialize(entry, OrchestratorJson.Options) + "\n";
        await _fileGate.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            await using var file = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(line), cancellationToken);
            await file.FlushAsync(cancellationToken);
        }
        finally
        {
            _fileGate.Release();
        }
    }

    public void Dispose() => _fileGate.Dispose();
}
