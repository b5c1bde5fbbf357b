using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Killswitch;

public static class KillswitchSetup
{
    /// <summary>
    /// Kill and kill-all, and the cleanup of killed agents that have no run here. The kill relay is the storage
    /// backend's when it has one (several instances), else the local one.
    /// </summary>
    public static IServiceCollection AddKillswitch(this IServiceCollection services)
    {
        var cleanupRequests = Channel.CreateBounded<AgentRecord>(new BoundedChannelOptions(100_000) { SingleReader = true });
        services.AddSingleton(cleanupRequests.Reader);
        services.AddSingleton(cleanupRequests.Writer);
        services.TryAddSingleton<IKillRelay, LocalKillRelay>();
        services.AddSingleton<KillSwitch>();
        services.AddHostedService<CleanupWorker>();
        return services;
    }
}
