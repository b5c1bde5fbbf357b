using System.Net;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Dashboard;
using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Monitor;

namespace Mosaic.Orchestrator.Api;

public static class ApiSetup
{
    /// <summary>Kestrel on ORCHESTRATOR_HOST:ORCHESTRATOR_PORT with the body limit, JSON, problem details, rate limits, readiness.</summary>
    public static WebApplicationBuilder AddApi(this WebApplicationBuilder builder, OrchestratorOptions settings)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = settings.MaxRequestBodyBytes;
            if (string.Equals(settings.Host, "localhost", StringComparison.OrdinalIgnoreCase) && settings.Port != 0)
            {
                kestrel.ListenLocalhost(settings.Port);
            }
            else if (IPAddress.TryParse(settings.Host, out var address))
            {
                kestrel.Listen(address, settings.Port);
            }
            else
            {
                // localhost with any free port (Kestrel cannot pick one for both loopbacks), or not an address, which
                // options validation refuses with a clear message before anything listens.
                kestrel.Listen(IPAddress.Loopback, settings.Port);
            }
        });

        var services = builder.Services;
        services.AddSingleton<ServiceClock>();
        services.ConfigureHttpJsonOptions(json => OrchestratorJson.Configure(json.SerializerOptions));
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestHandler>();
        services.AddExceptionHandler<StoreFailureHandler>();
        services.AddOrchestratorRateLimits(settings);
        services.AddSingleton<AuthFailureThrottle>();
        services.AddSingleton<EventStreamSlots>();
        services.AddReadinessChecks();
        services.AddOpenApiDocs();
        return builder;
    }

    /// <summary>The pipeline: problem details for errors, the API key, rate limits, then /health, /agents, /metrics, the API's description and the dashboard.</summary>
    public static WebApplication MapApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<ApiKeyAuthentication>();
        app.UseRateLimiter();
        app.MapHealthApi();
        app.MapModelGateway();
        app.MapAgentsApi();
        app.MapMonitoring();
        app.MapOpenApiDocs();
        app.MapDashboard();
        return app;
    }
}
