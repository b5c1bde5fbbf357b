namespace Mosaic.Orchestrator.Agents;

public enum AgentType { Worker, Reviewer, Tester }

public enum GateProfile { Strict, Standard, Minimal, Custom }

/// <summary>Lifecycle of the agent as SPEC names it; the allowed moves are in <see cref="AgentLifecycle"/>.</summary>
public enum AgentStatus { Spawning, Running, Completed, Failed, Killed }

/// <summary>Where the agent's task stands in the queue: pending -> assigned -> executing -> completed | failed.</summary>
public enum TaskState { Pending, Assigned, Executing, Completed, Failed }

public sealed record AgentContext(
    string Repository,
    string Branch,
    IReadOnlyList<string> WorkItems,
    IReadOnlyList<string> Skills);

/// <summary>
/// Where a resumed agent starts: the earlier agent's work on its WIP branch (and the base that work was made on), the
/// session of its conversation, why it stopped, and what the operator adds.
/// </summary>
public sealed record ResumePoint(
    Guid AgentId,
    string WipBranch,
    string WipCommit,
    string BaseCommit,
    string? SessionId,
    string? Reason,
    string? Error,
    string? Instructions);

/// <summary>The worker instance holding a task; the token fences writes from a worker that lost it.</summary>
public sealed record TaskLease(string Owner, string Token);

/// <summary>Identity of the agent's root process, kept so a restarted node can find and end it.</summary>
public sealed record AgentProcess(int Pid, long StartTicks, string Node);

/// <summary>
/// One agent run of one task: the durable record the store keeps, the queue orders and the API reports.
/// Queue fields (priority, sequence, due time, lease) live here so a single compare-and-set write moves
/// agent and task state together; no backend can half-apply a transition.
/// </summary>
public sealed record AgentRecord
{
    public required Guid AgentId { get; init; }
    public required string TaskId { get; init; }
    public required AgentType AgentType { get; init; }
    public required GateProfile GateProfile { get; init; }
    public required int Priority { get; init; }
    public required AgentContext Context { get; init; }
    public required AgentStatus Status { get; init; }
    public required TaskState TaskState { get; init; }
    public required DateTimeOffset SpawnedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Machine-readable cause of the end (or of the pending retry): killed, runtime-failed, ...</summary>
    public string? Reason { get; init; }

    /// <summary>Human-readable message for <see cref="Reason"/>.</summary>
    public string? Error { get; init; }

    /// <summary>Attempts started so far (0 until a worker leases the task).</summary>
    public int Attempt { get; init; }
    public required int MaxAttempts { get; init; }

    /// <summary>When a pending task becomes due; null means now.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }
    public int? ExitCode { get; init; }
    public string? SpawnedBy { get; init; }

    /// <summary>The node (NODE_ID) that runs or last ran an attempt of this agent.</summary>
    public string? Node { get; init; }
    public string? Workspace { get; init; }

    /// <summary>The agent's own branch, created from <see cref="BaseCommit"/>.</summary>
    public string? Branch { get; init; }
    public string? BaseCommit { get; init; }
    public string? HeadCommit { get; init; }
    public bool Pushed { get; init; }

    /// <summary>
    /// Commits this agent pushed, or was about to push, to its branch (written before each push): a later attempt's
    /// push may replace only one of these on the remote, never anybody else's work.
    /// </summary>
    public IReadOnlyList<string>? PushedCommits { get; init; }

    /// <summary>Where the work of an attempt that ended badly was kept (WIP_BRANCH_TEMPLATE), and its commit.</summary>
    public string? WipBranch { get; init; }
    public string? WipCommit { get; init; }

    /// <summary>Why an attempt's work was not kept on a WIP branch (secrets found in it, a refused push).</summary>
    public string? WipError { get; init; }

    /// <summary>The session of the agent's own last run (not an AI review's): what a fix run or a resume continues.</summary>
    public string? AgentSessionId { get; init; }

    /// <summary>The agent whose stopped work this one continues (POST /agents/{id}/resume), and where it starts.</summary>
    public Guid? ResumedFrom { get; init; }
    public ResumePoint? Resume { get; init; }

    /// <summary>Files on which the branch conflicts with the latest base (the run then fails with reason conflict).</summary>
    public IReadOnlyList<string>? Conflicts { get; init; }
    /// <summary>Secrets found in the agent's commits (redacted: rule, file, line, commit, preview, fingerprint); the run then failed.</summary>
    public IReadOnlyList<Secrets.SecretFinding>? SecretFindings { get; init; }

    /// <summary>Connections the sandbox's egress proxy refused (SANDBOX_EGRESS_ALLOW): how many, and the first hosts.</summary>
    public EgressRefusals? EgressRefused { get; init; }

    /// <summary>Gates named by the spawn request for the custom profile (null: GATES_CUSTOM).</summary>
    public IReadOnlyList<string>? CustomGates { get; init; }

    /// <summary>Verdicts of the quality gates on this attempt, in the order they ran.</summary>
    public IReadOnlyList<GateResult>? Gates { get; init; }

    /// <summary>What the runtime reported about the latest attempt (turns, cost, tokens, final answer).</summary>
    public AgentRunReport? Run { get; init; }

    /// <summary>Model spend over all attempts and fix runs, in USD: the model gateway's figure when it is on, else the runtime's own.</summary>
    public double? TotalCostUsd { get; init; }

    /// <summary>Model spend of the latest attempt (its runs, fix runs and AI reviews), in USD.</summary>
    public double? AttemptCostUsd { get; init; }
    public TaskLease? Lease { get; init; }
    public AgentProcess? Process { get; init; }

    /// <summary>Arrival order, set by the store at enqueue: FIFO within a priority.</summary>
    public long Sequence { get; init; }

    /// <summary>Compare-and-set version, bumped by the store on every write.</summary>
    public long Version { get; init; }

    public bool IsLive => !AgentLifecycle.IsTerminal(Status);
}

/// <summary>What the sandbox's egress proxy refused an agent: how many connections, and the first distinct host:port pairs.</summary>
public sealed record EgressRefusals(int Count, IReadOnlyList<string> Hosts);
