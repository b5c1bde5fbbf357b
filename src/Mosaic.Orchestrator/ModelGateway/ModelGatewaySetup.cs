namespace Mosaic.Orchestrator.ModelGateway;

public static class ModelGatewaySetup
{
    /// <summary>The gateway's credentials, its address for agents, the account (prices, budgets, rate-limit parking), and the upstream client (no timeout: answers stream for minutes).</summary>
    public static IServiceCollection AddModelGateway(this IServiceCollection services)
    {
        services.AddSingleton<GatewayCredentials>();
        services.AddSingleton<GatewayAddress>();
        services.AddSingleton<GatewayAccess>();
        services.AddSingleton<ModelAccount>();
        services.AddHostedService<ModelAccountWatch>();
        services.AddHttpClient(GatewayProxy.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                UseCookies = false,
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        return services;
    }
}
