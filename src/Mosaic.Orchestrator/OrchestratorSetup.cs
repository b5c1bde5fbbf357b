using Microsoft.Extensions.DependencyInjection.Extensions;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Api;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Gates;
using Mosaic.Orchestrator.Killswitch;
using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Monitor;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Sandbox;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Storage;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator;

/// <summary>Composition of the service: each area adds itself (the AddXxx beside its code), in start-up order.</summary>
public static class OrchestratorSetup
{
    public static WebApplicationBuilder AddOrchestrator(this WebApplicationBuilder builder)
    {
        var settings = builder.AddOrchestratorOptions();
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        builder.AddApi(settings);
        builder.AddMonitoring();
        // Storage first: a backend's own hosted services (Valkey's NODE_ID claim, relays) start before the worker leases.
        services.AddStorage(settings);
        services.AddEvents(settings);
        services.AddProcesses();
        services.AddSandbox(builder.Configuration);
        services.AddWorkspaces();
        services.AddSecretScanning(settings.SecretRulesFile);
        services.AddModelGateway();
        services.AddRuntimes(builder.Configuration, settings);
        services.AddGates(builder.Configuration);
        services.AddKillswitch();
        services.AddAgents(settings);
        return builder;
    }

    public static WebApplication MapOrchestrator(this WebApplication app) => app.MapApi();
}
