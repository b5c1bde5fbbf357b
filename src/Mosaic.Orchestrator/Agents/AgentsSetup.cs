using Mosaic.Orchestrator.Agents.Steps;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Agents;

public static class AgentsSetup
{
    /// <summary>
    /// Spawn, the lifecycle's writer, the worker and its attempts, recovery. The attempt's steps are registered here in
    /// the order they run: this list is the agent run of the README, top to bottom.
    /// </summary>
    public static IServiceCollection AddAgents(this IServiceCollection services, OrchestratorOptions settings)
    {
        services.AddSingleton(new NodeIdentity(settings.ResolvedNodeId));
        services.AddSingleton(new BackoffPolicy(TimeSpan.FromSeconds(settings.RetryBaseDelaySeconds), TimeSpan.FromSeconds(settings.RetryMaxDelaySeconds)));
        services.AddSingleton<QueueSignal>();
        services.AddSingleton<AgentTransitions>();
        services.AddSingleton<SpawnService>();
        services.AddSingleton<AgentCleanup>();
        services.AddSingleton<ActiveRuns>();
        services.AddSingleton<LeaseGate>();
        services.AddSingleton<DiskHogs>();
        services.AddSingleton<LeasedAttempts>();

        services.AddSingleton<IAttemptStep, RuntimeCheckStep>();
        services.AddSingleton<IAttemptStep, PrepareStep>();
        services.AddSingleton<IAttemptStep, RunAgentStep>();
        services.AddSingleton<IAttemptStep, CommitStep>();
        services.AddSingleton<IAttemptStep, SecretScanStep>();
        services.AddSingleton<IAttemptStep, GatesStep>();
        services.AddSingleton<IAttemptStep, ConflictStep>();
        services.AddSingleton<IAttemptStep, PushStep>();
        services.AddSingleton<AttemptPipeline>();

        services.AddSingleton<WipKeeper>();
        services.AddSingleton<AgentRunner>();
        services.AddSingleton<LeaseRecovery>();
        services.AddHostedService<AgentWorker>();
        services.AddSingleton<RetentionSweep>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweep>());
        return services;
    }
}
