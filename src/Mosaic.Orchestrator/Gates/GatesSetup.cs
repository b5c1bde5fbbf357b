using Microsoft.Extensions.Options;

namespace Mosaic.Orchestrator.Gates;

public static class GatesSetup
{
    /// <summary>
    /// The gate settings and the judge: YOLO_MODE skips every gate, COORDINATOR_URL asks the Coordinator, otherwise the
    /// repository's commands run here.
    /// </summary>
    public static IServiceCollection AddGates(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GateOptions>().Bind(configuration).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<GateOptions>, GateOptionsValidator>();
        var gates = configuration.Get<GateOptions>() ?? new GateOptions();
        if (gates.YoloMode)
        {
            services.AddSingleton<IGateJudge, SkippedGateJudge>();
        }
        else if (gates.CoordinatorUrl is { Length: > 0 })
        {
            AddCoordinatorClient(services, gates);
            services.AddSingleton<IGateJudge, CoordinatorGateJudge>();
        }
        else
        {
            services.AddSingleton<LocalGateRunner>();
            services.AddSingleton<AiReviewGate>();
            services.AddSingleton<IGateJudge, LocalGateJudge>();
        }

        return services;
    }

    /// <summary>
    /// The Coordinator client: each attempt limited to COORDINATOR_TIMEOUT_SECONDS, 3 attempts in all with
    /// exponential backoff and jitter, a circuit breaker that stops asking a Coordinator that keeps failing.
    /// </summary>
    private static void AddCoordinatorClient(IServiceCollection services, GateOptions gates)
    {
        var attempt = TimeSpan.FromSeconds(gates.CoordinatorTimeoutSeconds);
        services.AddHttpClient<CoordinatorClient>(http =>
        {
            var url = gates.CoordinatorUrl!;
            http.BaseAddress = new Uri(url.EndsWith('/') ? url : url + "/");
            // The pipeline limits each attempt; this also bounds reading the body, which happens after it returned.
            http.Timeout = attempt * 3 + TimeSpan.FromSeconds(15);
        })
        .AddStandardResilienceHandler(resilience =>
        {
            resilience.AttemptTimeout.Timeout = attempt;
            resilience.Retry.MaxRetryAttempts = 2;
            resilience.Retry.BackoffType = Polly.DelayBackoffType.Exponential;
            resilience.Retry.UseJitter = true;
            resilience.Retry.Delay = TimeSpan.FromSeconds(Math.Min(1, gates.CoordinatorTimeoutSeconds / 4));
            resilience.TotalRequestTimeout.Timeout = attempt * 3 + TimeSpan.FromSeconds(10);
            resilience.CircuitBreaker.SamplingDuration = attempt * 2 + TimeSpan.FromSeconds(30);
        });
    }
}
