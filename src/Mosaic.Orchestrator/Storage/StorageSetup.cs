using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Storage.Embedded;
using Mosaic.Orchestrator.Storage.Valkey;

namespace Mosaic.Orchestrator.Storage;

public static class StorageSetup
{
    /// <summary>STORAGE_BACKEND: the embedded store (one instance) or Valkey (several); DATA_DIR's free space and reserve.</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, OrchestratorOptions settings)
    {
        services.AddSingleton<DiskSpace>();
        services.AddSingleton<StoreReserve>();
        return settings.UsesValkey ? services.AddValkeyStorage(settings) : services.AddEmbeddedStorage(settings);
    }

    /// <summary>The storage contracts a backend implements: one store for agents and the queue, plus events, audit, health.</summary>
    internal static IServiceCollection AddStorageContracts<TStore, THistory, TAudit, THealth>(this IServiceCollection services)
        where TStore : class, IAgentStore, ITaskQueue, IQueueAdmin
        where THistory : class, IEventHistory
        where TAudit : class, IAuditStore
        where THealth : class, IStorageHealth
    {
        services.AddSingleton<IAgentStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<ITaskQueue>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IQueueAdmin>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IEventHistory, THistory>();
        services.AddSingleton<IAuditStore, TAudit>();
        services.AddSingleton<IStorageHealth, THealth>();
        return services;
    }
}
