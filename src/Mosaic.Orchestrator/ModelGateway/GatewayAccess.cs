using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>One run's way to the model: the gateway's address and a credential that is revoked when the pass is disposed.</summary>
public sealed class GatewayPass(GatewayCredentials credentials, string credential, GatewayGrant grant, string baseUrl) : IDisposable
{
    public string Credential { get; } = credential;

    public string BaseUrl { get; } = baseUrl;

    /// <summary>What the run's model calls used, metered by the gateway.</summary>
    public TokenUsage Tokens => grant.Tokens;

    /// <summary>What the run's model calls cost at the price table's prices (USD).</summary>
    public double CostUsd => ModelPrices.Usd(grant.MicroUsd);

    public GatewayGrant Grant => grant;

    /// <summary>
    /// The run's outcome with what the gateway knows: a run that failed after a call was refused for a budget ends
    /// budget-exceeded; one that failed for a passing reason after a rate limit parked the account is retried when the
    /// park ends, without spending an attempt. The report's tokens and cost become the gateway's, the runtime's own kept beside them.
    /// </summary>
    public RuntimeResult Judge(RuntimeResult result)
    {
        var judged = result.Failure switch
        {
            null => result,
            _ when grant.Refusal is { } refusal => result with
            {
                Failure = new Failure(FailureReason.BudgetExceeded, $"the model gateway refused a call: {refusal}", result.ExitCode),
            },
            // Only an end a retry can mend (the CLI's own 429 handling gave up, a command exited non-zero): a refused key stays refused.
            { } failure when (failure.Transient || failure.Reason == FailureReason.RuntimeFailed) && grant.ParkedUntil is { } until => result with
            {
                Failure = new Failure(FailureReason.RateLimited, $"the model API rate-limited the account until {until:O}; retried then ({failure.Message})", result.ExitCode)
                {
                    RetryAt = until,
                },
            },
            _ => result,
        };
        return result.Report is { } report ? judged with { Report = Metered(report) } : judged;
    }

    /// <summary>The report with the gateway's figures as its tokens and cost, the runtime's own as cliTokens and cliCostUsd.</summary>
    public AgentRunReport Metered(AgentRunReport report) => report with
    {
        Tokens = grant.Tokens,
        CostUsd = CostUsd,
        Metered = true,
        CliTokens = report.Tokens,
        CliCostUsd = report.CostUsd,
        MeteredModels = grant.Models is { Count: > 0 } models ? models : null,
    };

    public void Dispose() => credentials.Revoke(Credential);
}

/// <summary>Opens a gateway pass for a run, when MODEL_GATEWAY is on and there is a key for the gateway to add.</summary>
public sealed class GatewayAccess(GatewayCredentials credentials, GatewayAddress address, IAgentStore store, IOptions<OrchestratorOptions> options, IOptions<ClaudeCodeOptions> claude,
    IOptions<Sandbox.SandboxOptions> sandbox)
{
    /// <summary>A pass for one run of <paramref name="agent"/>, knowing what the agent and its task spent before it (for the budgets).</summary>
    public async Task<GatewayPass?> OpenAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        if (!options.Value.ModelGateway || string.IsNullOrEmpty(claude.Value.ApiKey))
        {
            return null;
        }

        var agentSpent = Micro(agent.TotalCostUsd);
        var taskSpent = agentSpent;
        if (options.Value.TaskMaxCostUsd is not null)
        {
            // The task's other agents (earlier ones, resumed ones): their records hold what they spent.
            var page = await store.ListAsync(new AgentQuery(null, agent.TaskId, 1000, 0), cancellationToken);
            taskSpent += page.Items.Where(a => a.AgentId != agent.AgentId).Sum(a => Micro(a.TotalCostUsd));
        }

        var (credential, grant) = credentials.Issue(new GatewayGrant(agent.AgentId, agent.Attempt, agent.TaskId, agentSpent, taskSpent));
        // A sandboxed agent has no network of its own: it reaches the gateway through its egress proxy, by alias.
        return new GatewayPass(credentials, credential, grant, sandbox.Value.Enabled ? Sandbox.EgressGate.GatewayUrl : address.Url);
    }

    private static long Micro(double? usd) => (long)Math.Round((usd ?? 0) * 1_000_000);
}
