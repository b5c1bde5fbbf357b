using System.Globalization;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Gates;

/// <summary>
/// The AI review: the agent runtime again, as a reviewer (read-only tools for Claude Code), over the change
/// (base..head and its --stat). The last JSON object with "approved" in its answer is the verdict; it passes only when
/// approved with at least AI_REVIEW_MIN_CONFIDENCE. A review run that failed transiently could not judge: no fix run
/// is spent on it.
/// </summary>
public sealed class AiReviewGate(IAgentRuntime runtime, PromptTemplates prompts, IWorkspaceInspector inspector, IOptions<GateOptions> options)
{
    /// <summary>Prompts travel as one argument (Linux caps one at 128 KiB): a huge change's --stat is cut.</summary>
    private const int MaxStatChars = 32 * 1024;

    public async Task<GateVerdict> JudgeAsync(GateRequest request, CancellationToken cancellationToken)
    {
        var agent = request.Agent;
        var round = request.Round;
        var started = TimeProvider.System.GetTimestamp();
        var changes = await inspector.DescribeChangesAsync(agent, cancellationToken);
        var reviewer = agent with { AgentType = AgentType.Reviewer };
        var prompt = prompts.Render(reviewer) +
            $"\n\nThe change under review ({agent.BaseCommit}..{agent.HeadCommit}):\n{Cap(changes.Stat, MaxStatChars)}\n";
        var ran = await runtime.RunAsync(new AgentRunContext(reviewer, agent.Workspace!, request.Folder, prompt, request.OnProcessStarted), cancellationToken);
        var elapsed = (long)TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        var minimum = options.Value.AiReviewMinConfidence;
        if (ran.Failure is { } failure)
        {
            // A spent budget or a rate limit is the model account's, not the review's: it keeps its own reason and policy.
            var reason = failure.Reason == FailureReason.BudgetExceeded || failure.Reason == FailureReason.RateLimited ? failure.Reason
                : failure.Transient ? FailureReason.GateUnavailable(GateCatalog.AiReview) : FailureReason.GateFailed(GateCatalog.AiReview);
            return new GateVerdict(Failed($"the review run failed: {failure.Code}: {failure.Message}"), reason, ran.Report) { RetryAt = failure.RetryAt };
        }

        var verdict = AiReviewVerdict.Find(ran.Report?.Result);
        if (verdict is { Approved: true } approved && approved.Confidence >= minimum)
        {
            return new GateVerdict(new GateResult(GateCatalog.AiReview, GateCatalog.PostCommit, "passed", true, elapsed, round,
                string.Create(CultureInfo.InvariantCulture, $"approved with confidence {approved.Confidence:0.##}")), null, ran.Report);
        }

        var rejected = verdict is null
            ? Failed("the reviewer gave no JSON verdict {approved, confidence, findings}")
            : Failed(string.Create(CultureInfo.InvariantCulture, $"{(verdict.Approved ? "approved" : "not approved")} with confidence {verdict.Confidence:0.##} (needs approval at {minimum:0.##})"),
                verdict.Findings.Count == 0 ? null : "- " + string.Join("\n- ", verdict.Findings));
        return new GateVerdict(rejected, FailureReason.GateFailed(GateCatalog.AiReview), ran.Report);

        GateResult Failed(string message, string? findings = null) =>
            new(GateCatalog.AiReview, GateCatalog.PostCommit, "failed", false, elapsed, round, message, findings);
    }

    internal static string Cap(string text, int max) => text.Length <= max ? text : text[..max] + "\n[... cut]";
}
