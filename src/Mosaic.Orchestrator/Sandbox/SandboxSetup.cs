using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents.Steps;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Sandbox;

public static class SandboxSetup
{
    /// <summary>With SANDBOX_ENABLED, agent processes run in containers; the host's own implementation is kept for leftovers.</summary>
    public static IServiceCollection AddSandbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SandboxOptions>().Bind(configuration).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<SandboxOptions>, SandboxOptionsValidator>();
        if (configuration.Get<SandboxOptions>() is not { Enabled: true })
        {
            return services;
        }

        services.AddSingleton<DockerEngine>();
        services.AddEgressProxy();
        services.AddSingleton<EgressGate>();
        services.AddSingleton<HostAgentProcesses>();
        services.AddSingleton<ContainerAgentProcesses>();
        services.AddSingleton<IAgentProcesses>(sp => sp.GetRequiredService<ContainerAgentProcesses>());
        services.AddSingleton<IIsolatedWorkspaces, SandboxWorkspaces>();
        // Before the runtime's check (steps run in the order they are added; the agents' own come later).
        services.AddSingleton<IAttemptStep, SandboxCheckStep>();
        services.AddHealthChecks().AddCheck<SandboxReadiness>("sandbox");
        return services;
    }
}
