namespace Mosaic.Orchestrator.Storage;

/// <summary>Readiness probe of the configured backend.</summary>
public interface IStorageHealth
{
    string BackendName { get; }

    /// <summary>Null when usable, else what is wrong.</summary>
    Task<string?> CheckAsync(CancellationToken cancellationToken);
}
