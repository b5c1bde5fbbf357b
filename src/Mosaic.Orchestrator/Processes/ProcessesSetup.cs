namespace Mosaic.Orchestrator.Processes;

public static class ProcessesSetup
{
    /// <summary>Agent processes run on this host; the Docker sandbox will register its own <see cref="IAgentProcesses"/>.</summary>
    public static IServiceCollection AddProcesses(this IServiceCollection services)
    {
        services.AddSingleton<IAgentProcesses, HostAgentProcesses>();
        return services;
    }
}
