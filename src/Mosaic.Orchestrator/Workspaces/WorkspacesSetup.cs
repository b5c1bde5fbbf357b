namespace Mosaic.Orchestrator.Workspaces;

public static class WorkspacesSetup
{
    /// <summary>The git repository cache and worktrees: where agents work, and what the scan and gates read.</summary>
    public static IServiceCollection AddWorkspaces(this IServiceCollection services)
    {
        services.AddSingleton<GitWorkspaceProvider>();
        services.AddSingleton<IWorkspaceProvider>(sp => sp.GetRequiredService<GitWorkspaceProvider>());
        services.AddSingleton<IWorkspaceInspector>(sp => sp.GetRequiredService<GitWorkspaceProvider>());
        services.AddSingleton<IWipBranches>(sp => sp.GetRequiredService<GitWorkspaceProvider>());
        return services;
    }
}
