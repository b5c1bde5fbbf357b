using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Events;

public static class EventsSetup
{
    /// <summary>The broadcaster that feeds live streams, the event factory, and the audit trail (store + DATA_DIR/audit.jsonl).</summary>
    public static IServiceCollection AddEvents(this IServiceCollection services, OrchestratorOptions settings)
    {
        services.AddSingleton<EventBroadcaster>();
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<EventBroadcaster>());
        services.AddSingleton<AgentEvents>();
        services.AddSingleton(sp => new AuditTrail(sp.GetRequiredService<IAuditStore>(), Path.Combine(settings.FullDataDir, "audit.jsonl")));
        return services;
    }
}
