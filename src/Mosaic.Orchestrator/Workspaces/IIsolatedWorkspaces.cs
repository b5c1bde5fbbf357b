using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// The sandbox's workspaces: a repository of the agent's own instead of a worktree of the shared cache (which holds
/// every agent's branches and the config the service's git obeys). The service fills it once, before any agent code
/// runs in it; afterwards it is treated as an untrusted remote: what comes back is a bundle made inside the sandbox,
/// and nothing the agent wrote there (hooks, config, attributes filters, fsmonitor, alternates, replace refs, grafts)
/// is ever run or believed by the service's git.
/// </summary>
public interface IIsolatedWorkspaces
{
    /// <summary>Makes <paramref name="workspace"/> a fresh repository on <paramref name="branch"/> at the commit that ref has in <paramref name="source"/>.</summary>
    Task PrepareAsync(string workspace, string source, string branch, CancellationToken cancellationToken);

    /// <summary>
    /// Commits what the agent left, inside the sandbox, and returns a bundle of HEAD over <paramref name="baseCommit"/>
    /// (a file only the service can read now), or null when HEAD is still the base.
    /// </summary>
    Task<IsolatedResult> BundleAsync(AgentRecord agent, string workspace, string baseCommit, string message, IReadOnlyDictionary<string, string> identity, CancellationToken cancellationToken);
}

/// <summary>The bundle of the agent's commits (deleted with the result), or none when nothing was committed.</summary>
public sealed record IsolatedResult(string? Bundle) : IDisposable
{
    public void Dispose()
    {
        if (Bundle is not null)
        {
            File.Delete(Bundle);
        }
    }
}
