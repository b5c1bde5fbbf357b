using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mosaic.Orchestrator.Monitor;

public static class MonitoringSetup
{
    /// <summary>The standard OpenTelemetry variable: where traces go (OTLP). Unset, no span leaves the process.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Metrics for Prometheus at /metrics (OpenTelemetry's Prometheus exporter) and, when OTEL_EXPORTER_OTLP_ENDPOINT is
    /// set, the attempt's spans over OTLP (the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself).
    /// </summary>
    public static WebApplicationBuilder AddMonitoring(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<AgentMetrics>();
        services.AddSingleton<QueueGauges>();
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("mosaic-orchestrator", serviceVersion: Configuration.ServiceVersion.Text))
            .WithMetrics(metrics => metrics
                .AddMeter(AgentMetrics.MeterName)
                // Every scrape reads fresh figures (the queue gauges are read just before it), none from a cache.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        services.ConfigureOpenTelemetryMeterProvider(OnlyThisApplicationsMeters);
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting]))
        {
            otel.WithTracing(tracing => tracing.AddSource(AttemptTracing.SourceName).AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>GET /metrics (Prometheus text; behind the API key like /agents): the queue gauges are read, then collected.</summary>
    public static WebApplication MapMonitoring(this WebApplication app)
    {
        // QueueGauges is resolved per scrape, not here: it needs the store, which opens (and may refuse: DATA_DIR in use)
        // when the application starts, not while it is being composed. The gauges exist from the first scrape on.
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: pipeline =>
            pipeline.Use(async (context, next) =>
            {
                await context.RequestServices.GetRequiredService<QueueGauges>().RefreshAsync(context.RequestAborted);
                await next(context);
            }), optionsName: null);
        return app;
    }

    /// <summary>
    /// The most label sets one metric keeps; more go to one series labelled <c>otel_metric_overflow="true"</c>. Ours are
    /// a few dozen (status x reason, gate x verdict); the SDK's default of 2000 allocates a point for each up front,
    /// 2000 x 7 metrics = 1 MB at idle, the largest object in the heap of a service that has done nothing yet.
    /// </summary>
    public const int SeriesPerMetric = 500;

    /// <summary>
    /// Meters of the same name from other service providers in this process (several test hosts run side by side)
    /// are dropped: the OpenTelemetry listener matches meters by name only, and would count their agents too.
    /// </summary>
    private static void OnlyThisApplicationsMeters(IServiceProvider provider, MeterProviderBuilder metrics)
    {
        var own = provider.GetRequiredService<IMeterFactory>();
        metrics.AddView(instrument => ReferenceEquals(instrument.Meter.Scope, own)
            ? new MetricStreamConfiguration { CardinalityLimit = SeriesPerMetric }
            : MetricStreamConfiguration.Drop);
    }
}
