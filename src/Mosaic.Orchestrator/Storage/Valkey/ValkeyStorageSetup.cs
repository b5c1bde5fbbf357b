using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Killswitch;

namespace Mosaic.Orchestrator.Storage.Valkey;

public static class ValkeyStorageSetup
{
    /// <summary>
    /// Valkey/Redis, shared by several instances: the same contracts, plus the services a cluster needs (this
    /// instance's NODE_ID claim, the event relay from the shared channel, the kill relay). No DATA_DIR lock: the
    /// NODE_ID claim is the one-instance rule here. Call before the agents' worker is added, so these start before it leases.
    /// </summary>
    public static IServiceCollection AddValkeyStorage(this IServiceCollection services, OrchestratorOptions settings)
    {
        services.AddSingleton(_ => ValkeyConnection.Connect(settings));
        services.AddSingleton(sp => new ValkeyAgentStore(sp.GetRequiredService<ValkeyConnection>(), settings.MaxConcurrentAgents));
        services.AddStorageContracts<ValkeyAgentStore, ValkeyEventHistory, ValkeyAuditStore, ValkeyStorageHealth>();
        services.AddSingleton<ModelGateway.IModelAccountStore, ValkeyModelAccount>();
        services.AddSingleton<IRetentionStore, ValkeyRetention>();
        services.AddSingleton(_ => new NodeClaim());
        services.AddSingleton<ValkeyInstance>();
        services.AddHostedService(sp => sp.GetRequiredService<ValkeyInstance>());
        services.AddHostedService<ValkeyEventRelay>();
        services.AddSingleton<ValkeyKillRelay>();
        services.AddSingleton<IKillRelay>(sp => sp.GetRequiredService<ValkeyKillRelay>());
        services.AddHostedService(sp => sp.GetRequiredService<ValkeyKillRelay>());
        return services;
    }
}
