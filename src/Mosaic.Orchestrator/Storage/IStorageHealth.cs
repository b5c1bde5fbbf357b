namespace Mosaic.Orchestrator.Storage;

/// <summary>Readiness probe of the configured backend.</summary>
public interface IStorageHealth
{
    string BackendName { get; }

    /// <summary>Null when usable, else what is wrong.</summary>
    Task<string?> CheckAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A check cheap enough for every spawn and every lease: null, or why nothing should be written now (the embedded
    /// store's file was removed under it: every write would be lost at the next start).
    /// </summary>
    string? QuickCheck() => null;
}
