using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Storage.Embedded;

public static class EmbeddedStorageSetup
{
    /// <summary>SQLite in DATA_DIR for one instance; its DATA_DIR lock is the node's claim, held from the start.</summary>
    public static IServiceCollection AddEmbeddedStorage(this IServiceCollection services, OrchestratorOptions settings)
    {
        services.AddSingleton(provider =>
        {
            // A start on a full disk takes the reserve back first: SQLite must create its WAL and write at open.
            var reserve = provider.GetRequiredService<StoreReserve>();
            reserve.ReleaseIfFull(settings.FullDataDir);
            return new SqliteDatabase(Path.Combine(settings.FullDataDir, "orchestrator.db"), reserve.Release);
        });
        services.AddSingleton<EmbeddedAgentStore>();
        services.AddStorageContracts<EmbeddedAgentStore, EmbeddedEventHistory, EmbeddedAuditStore, EmbeddedStorageHealth>();
        services.AddSingleton<ModelGateway.IModelAccountStore, EmbeddedModelAccount>();
        services.AddSingleton<IRetentionStore, EmbeddedRetention>();
        services.AddSingleton(_ => NodeClaim.HeldFromStart());
        return services;
    }
}
