using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Storage.Embedded;
using Mosaic.Orchestrator.Storage.Valkey;

namespace Mosaic.Orchestrator.Storage;

public static class StorageSetup
{
    /// <summary>STORAGE_BACKEND: the embedded store (one instance) or Valkey (several).</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, OrchestratorOptions settings) =>
        settings.UsesValkey ? services.AddValkeyStorage(settings) : services.AddEmbeddedStorage(settings);
}
