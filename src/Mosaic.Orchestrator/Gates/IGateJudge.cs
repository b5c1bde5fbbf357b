using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Gates;

/// <summary>
/// What a judge needs to look at the agent's committed work: the record (workspace, base and head commits), the fix
/// round (0 for the agent's first result), and, for the AI review, where the runtime keeps its files and how a process
/// it starts is reported (the attempt records it, so a kill and a restart can find it).
/// </summary>
public sealed record GateRequest(AgentRecord Agent, int Round, AgentFolder Folder, Func<ProcessInfo, Task> OnProcessStarted);

/// <summary>
/// One gate's verdict. <see cref="Failure"/> is null when it passed; otherwise it says whether a fix run can help
/// (a broken gate file: no) or the gate could not judge for a passing reason (transient: retried with backoff).
/// <see cref="Run"/> is what the runtime reported when the gate ran it (the AI review), so its cost is kept.
/// </summary>
public sealed record GateVerdict(GateResult Result, FailureReason? Failure = null, AgentRunReport? Run = null)
{
    /// <summary>When the gate may judge again (a rate limit's reset): the retry is due then and spends no attempt.</summary>
    public DateTimeOffset? RetryAt { get; init; }
}

/// <summary>
/// Judges the agent's work phase by phase (pre-commit, then post-commit); the attempt records each verdict as it comes.
/// Picked at composition: commands run here (<see cref="LocalGateJudge"/>), the Coordinator
/// (<see cref="CoordinatorGateJudge"/>), or nothing under YOLO_MODE (<see cref="SkippedGateJudge"/>).
/// </summary>
public interface IGateJudge
{
    /// <summary>The verdicts of one phase in running order; nothing more follows a failing one.</summary>
    IAsyncEnumerable<GateVerdict> JudgeAsync(GateRequest request, string phase, CancellationToken cancellationToken);
}
