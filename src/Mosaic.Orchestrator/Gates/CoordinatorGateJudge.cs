using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Gates;

/// <summary>
/// With COORDINATOR_URL no gate runs here: the Coordinator judges the change once, before push (the post-commit
/// phase), and its answer decides. A refusal names its gate, which the agent may fix; "coordinator" (unreachable or a
/// malformed answer, fail closed) is not the agent's to fix.
/// </summary>
public sealed class CoordinatorGateJudge(CoordinatorClient coordinator, IWorkspaceInspector inspector, IOptions<GateOptions> options) : IGateJudge
{
    public async IAsyncEnumerable<GateVerdict> JudgeAsync(GateRequest request, string phase, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (phase != GateCatalog.PostCommit)
        {
            yield break;
        }

        var agent = request.Agent;
        var started = TimeProvider.System.GetTimestamp();
        var changes = await inspector.DescribeChangesAsync(agent, cancellationToken);
        var verdict = await coordinator.CheckAsync(agent, changes.Files.Take(10_000).ToList(), AiReviewGate.Cap(changes.Stat, 256 * 1024), options.Value.GatesOf(agent), cancellationToken);
        var elapsed = (long)TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        var details = verdict.Details is { } d ? d.GetRawText() : null;
        var result = new GateResult(verdict.Gate, GateCatalog.PostCommit, verdict.Approved ? "passed" : "failed", verdict.Approved, elapsed, request.Round,
            verdict.Message, details is { Length: > 4096 } ? details[..4096] : details);
        yield return new GateVerdict(result, verdict.Approved ? null : FailureReason.GateFailed(verdict.Gate, fixable: verdict.Gate != "coordinator"));
    }
}
