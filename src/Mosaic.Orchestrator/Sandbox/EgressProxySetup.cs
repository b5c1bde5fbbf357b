namespace Mosaic.Orchestrator.Sandbox;

public static class EgressProxySetup
{
    /// <summary>The egress proxy (one per service; it starts one listener per attempt) with its limits.</summary>
    public static IServiceCollection AddEgressProxy(this IServiceCollection services, EgressProxyOptions? options = null)
    {
        services.AddSingleton(options ?? new EgressProxyOptions());
        services.AddSingleton<EgressProxy>();
        return services;
    }
}
