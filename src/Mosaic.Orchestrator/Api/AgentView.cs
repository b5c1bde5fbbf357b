using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Api;

/// <summary>The agent record as the API shows it (SPEC's fields plus what the run produced); internals such as the lease token stay inside.</summary>
public sealed record AgentView(
    Guid AgentId,
    string TaskId,
    AgentType AgentType,
    AgentStatus Status,
    DateTimeOffset SpawnedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    string? Error,
    string? Reason,
    GateProfile GateProfile,
    int Priority,
    TaskState TaskState,
    int Attempt,
    int MaxAttempts,
    DateTimeOffset? NextAttemptAt,
    int? ExitCode,
    AgentContext Context,
    string? SpawnedBy,
    string? Node,
    string? Branch,
    string? BaseCommit,
    string? HeadCommit,
    bool Pushed,
    string? WipBranch,
    string? WipCommit,
    string? WipError,
    Guid? ResumedFrom,
    IReadOnlyList<string>? Conflicts,
    double? TotalCostUsd,
    double? AttemptCostUsd,
    AgentRunReport? Run,
    IReadOnlyList<string>? CustomGates,
    IReadOnlyList<GateResult>? Gates,
    IReadOnlyList<Secrets.SecretFinding>? SecretFindings,
    EgressRefusals? EgressRefused)
{
    public static AgentView From(AgentRecord a) => new(
        a.AgentId, a.TaskId, a.AgentType, a.Status, a.SpawnedAt, a.StartedAt, a.CompletedAt, a.Error, a.Reason,
        a.GateProfile, a.Priority, a.TaskState, a.Attempt, a.MaxAttempts, a.NextAttemptAt, a.ExitCode,
        a.Context with { Repository = Workspaces.RepositoryAddress.Redact(a.Context.Repository) }, a.SpawnedBy,
        a.Node, a.Branch, a.BaseCommit, a.HeadCommit, a.Pushed, a.WipBranch, a.WipCommit, a.WipError, a.ResumedFrom, a.Conflicts, a.TotalCostUsd, a.AttemptCostUsd, a.Run, a.CustomGates, a.Gates, a.SecretFindings,
        a.EgressRefused);
}

public sealed record SpawnResponse(Guid AgentId, string Status);

public sealed record MessageResponse(string Message);

public sealed record EmergencyStopResponse(string Message, int Total, int Killed, int Failed, IReadOnlyList<Killswitch.KillError> Errors, Queue.QueueStats Stats);

public sealed record KillAllResponse(string Message, int Total, int Killed, int Failed, IReadOnlyList<Killswitch.KillError> Errors);

public sealed record AgentListResponse(IReadOnlyList<AgentView> Items, int Total, int Limit, int Offset);

public sealed record AuditListResponse(IReadOnlyList<Events.AuditEntry> Items, long Total, int Limit, int Offset);
