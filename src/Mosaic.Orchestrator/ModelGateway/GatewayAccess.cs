using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>One run's way to the model: the gateway's address and a credential that is revoked when the pass is disposed.</summary>
public sealed class GatewayPass(GatewayCredentials credentials, string credential, GatewayGrant grant, string baseUrl) : IDisposable
{
    public string Credential { get; } = credential;

    public string BaseUrl { get; } = baseUrl;

    /// <summary>What the run's model calls used, metered by the gateway.</summary>
    public TokenUsage Tokens => grant.Tokens;

    public void Dispose() => credentials.Revoke(Credential);
}

/// <summary>Opens a gateway pass for a run, when MODEL_GATEWAY is on and there is a key for the gateway to add.</summary>
public sealed class GatewayAccess(GatewayCredentials credentials, GatewayAddress address, IOptions<OrchestratorOptions> options, IOptions<ClaudeCodeOptions> claude,
    IOptions<Sandbox.SandboxOptions> sandbox)
{
    public GatewayPass? Open(AgentRecord agent)
    {
        if (!options.Value.ModelGateway || string.IsNullOrEmpty(claude.Value.ApiKey))
        {
            return null;
        }

        var (credential, grant) = credentials.Issue(agent.AgentId, agent.Attempt);
        // A sandboxed agent has no network of its own: it reaches the gateway through its egress proxy, by alias.
        return new GatewayPass(credentials, credential, grant, sandbox.Value.Enabled ? Sandbox.EgressGate.GatewayUrl : address.Url);
    }
}
