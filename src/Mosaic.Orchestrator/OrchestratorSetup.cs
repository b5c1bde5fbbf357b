using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Api;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Gates;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Killswitch;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Runtimes.Command;
using Mosaic.Orchestrator.Storage;
using Mosaic.Orchestrator.Storage.Embedded;
using Mosaic.Orchestrator.Storage.Valkey;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator;

/// <summary>Composition of the service: settings, storage, queue, workers, killswitch, API.</summary>
public static class OrchestratorSetup
{
    public static WebApplicationBuilder AddOrchestrator(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OrchestratorOptions>()
            .Bind(builder.Configuration)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<OrchestratorOptions>, OrchestratorOptionsValidator>();
        services.AddOptions<ClaudeCodeOptions>()
            .Bind(builder.Configuration)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClaudeCodeOptions>, ClaudeCodeOptionsValidator>();
        services.AddOptions<GateOptions>()
            .Bind(builder.Configuration)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<GateOptions>, GateOptionsValidator>();
        var settings = builder.Configuration.Get<OrchestratorOptions>() ?? new OrchestratorOptions();

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

        services.TryAddSingleton(TimeProvider.System);
        services.ConfigureHttpJsonOptions(json => OrchestratorJson.Configure(json.SerializerOptions));
        services.AddProblemDetails();
        services.AddOrchestratorRateLimits(settings);
        services.AddReadinessChecks();
        services.AddProcesses();

        if (settings.UsesValkey)
        {
            AddValkeyStorage(services, settings);
        }
        else
        {
            AddEmbeddedStorage(services, settings);
        }

        services.AddSingleton(new NodeIdentity(settings.ResolvedNodeId));
        // Embedded: the DATA_DIR lock is the node's claim, held from the start. Valkey: ValkeyInstance holds it.
        services.AddSingleton(_ => settings.UsesValkey ? new NodeClaim() : NodeClaim.HeldFromStart());
        services.AddSingleton<ServiceClock>();
        services.AddSingleton<EventBroadcaster>();
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<EventBroadcaster>());
        services.AddSingleton<AgentEvents>();
        services.AddSingleton(sp => new AuditTrail(sp.GetRequiredService<IAuditStore>(), Path.Combine(settings.FullDataDir, "audit.jsonl")));
        services.AddSingleton(new BackoffPolicy(TimeSpan.FromSeconds(settings.RetryBaseDelaySeconds), TimeSpan.FromSeconds(settings.RetryMaxDelaySeconds)));
        services.AddSingleton<QueueSignal>();
        services.AddSingleton<AgentTransitions>();
        services.AddSingleton<AgentSettlement>();
        services.AddSingleton<AgentCleanup>();
        services.AddSingleton<SpawnService>();
        services.AddSingleton<ActiveRuns>();
        services.AddSingleton<AgentRunner>();
        services.AddSingleton<LeaseRecovery>();
        services.AddSingleton<GitWorkspaceProvider>();
        services.AddSingleton<IWorkspaceProvider>(sp => sp.GetRequiredService<GitWorkspaceProvider>());
        services.AddSingleton<IWorkspaceInspector>(sp => sp.GetRequiredService<GitWorkspaceProvider>());
        if (settings.SecretRulesFile is { Length: > 0 } rules)
        {
            services.AddSingleton(_ => SecretRules.Load(rules));
        }

        services.AddSecretScanning();
        services.AddSingleton<LocalGateRunner>();
        services.AddSingleton<QualityGates>();
        AddCoordinatorClient(services, builder.Configuration.Get<GateOptions>() ?? new GateOptions());
        // Problems in the template folder stop the start through options validation; here the good ones are used.
        services.AddSingleton(sp => PromptTemplates.Load(settings.PromptTemplateDir, out _));
        services.AddSingleton<IAgentRuntime>(sp => settings.AgentRuntime switch
        {
            "command" => ActivatorUtilities.CreateInstance<CommandRuntime>(sp),
            "claude-code" => ActivatorUtilities.CreateInstance<ClaudeCodeRuntime>(sp),
            var name => throw new InvalidOperationException($"AGENT_RUNTIME '{name}' is unknown"), // options validation refuses it first
        });

        var cleanupRequests = Channel.CreateBounded<AgentRecord>(new BoundedChannelOptions(100_000) { SingleReader = true });
        services.AddSingleton(cleanupRequests.Reader);
        services.AddSingleton(cleanupRequests.Writer);
        if (!settings.UsesValkey)
        {
            services.AddSingleton<IKillRelay, LocalKillRelay>();
        }

        services.AddSingleton<KillSwitch>();
        services.AddHostedService<CleanupWorker>();
        services.AddHostedService<AgentWorker>();
        return builder;
    }

    public static WebApplication MapOrchestrator(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<ApiKeyAuthentication>();
        app.UseRateLimiter();
        app.MapHealthApi();
        app.MapAgentsApi();
        return app;
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
            if (gates.CoordinatorUrl is { Length: > 0 } url)
            {
                http.BaseAddress = new Uri(url.EndsWith('/') ? url : url + "/");
            }

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

    private static void AddEmbeddedStorage(IServiceCollection services, OrchestratorOptions settings)
    {
        services.AddSingleton(_ => new SqliteDatabase(Path.Combine(settings.FullDataDir, "orchestrator.db")));
        services.AddSingleton<EmbeddedAgentStore>();
        services.AddSingleton<IAgentStore>(sp => sp.GetRequiredService<EmbeddedAgentStore>());
        services.AddSingleton<ITaskQueue>(sp => sp.GetRequiredService<EmbeddedAgentStore>());
        services.AddSingleton<IQueueAdmin>(sp => sp.GetRequiredService<EmbeddedAgentStore>());
        services.AddSingleton<IEventHistory, EmbeddedEventHistory>();
        services.AddSingleton<IAuditStore, EmbeddedAuditStore>();
        services.AddSingleton<IStorageHealth, EmbeddedStorageHealth>();
    }

    /// <summary>
    /// Valkey/Redis, shared by several instances: the same contracts, plus the services a cluster needs (this
    /// instance's NODE_ID claim, the event relay from the shared channel, the kill relay). No DATA_DIR lock: the
    /// NODE_ID claim is the one-instance rule here. Registered before the worker, so they start before it leases.
    /// </summary>
    private static void AddValkeyStorage(IServiceCollection services, OrchestratorOptions settings)
    {
        services.AddSingleton(_ => ValkeyConnection.Connect(settings));
        services.AddSingleton(sp => new ValkeyAgentStore(sp.GetRequiredService<ValkeyConnection>(), settings.MaxConcurrentAgents));
        services.AddSingleton<IAgentStore>(sp => sp.GetRequiredService<ValkeyAgentStore>());
        services.AddSingleton<ITaskQueue>(sp => sp.GetRequiredService<ValkeyAgentStore>());
        services.AddSingleton<IQueueAdmin>(sp => sp.GetRequiredService<ValkeyAgentStore>());
        services.AddSingleton<IEventHistory, ValkeyEventHistory>();
        services.AddSingleton<IAuditStore, ValkeyAuditStore>();
        services.AddSingleton<IStorageHealth, ValkeyStorageHealth>();
        services.AddSingleton<ValkeyInstance>();
        services.AddHostedService(sp => sp.GetRequiredService<ValkeyInstance>());
        services.AddHostedService<ValkeyEventRelay>();
        services.AddSingleton<ValkeyKillRelay>();
        services.AddSingleton<IKillRelay>(sp => sp.GetRequiredService<ValkeyKillRelay>());
        services.AddHostedService(sp => sp.GetRequiredService<ValkeyKillRelay>());
    }
}
