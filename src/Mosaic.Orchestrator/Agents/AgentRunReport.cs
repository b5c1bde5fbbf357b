namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// What the runtime reported about one attempt (Claude Code's stream: session, turns, cost, tokens, its final
/// answer). Fields the runtime does not report stay null. Tool inputs are not kept: they may hold anything.
/// </summary>
public sealed record AgentRunReport
{
    public required string Runtime { get; init; }
    public int Attempt { get; init; }
    public string? SessionId { get; init; }

    /// <summary>The session this run continued (a fix run goes on with the conversation of the run before it); null when it started afresh.</summary>
    public string? ContinuedSession { get; init; }
    public string? Model { get; init; }
    public int? Turns { get; init; }
    public long? DurationMs { get; init; }
    public long? ApiDurationMs { get; init; }
    /// <summary>What the run cost (USD): the model gateway's figure when <see cref="Metered"/>, else the runtime's own.</summary>
    public double? CostUsd { get; init; }

    /// <summary>The run's tokens: the model gateway's count when <see cref="Metered"/>, else the runtime's own.</summary>
    public TokenUsage? Tokens { get; init; }

    /// <summary>Whether <see cref="Tokens"/> and <see cref="CostUsd"/> are the gateway's, metered from the API's answers.</summary>
    public bool Metered { get; init; }

    /// <summary>Beside the gateway's figures: what the runtime itself reported (Claude Code's own count and cost), for comparison.</summary>
    public TokenUsage? CliTokens { get; init; }
    public double? CliCostUsd { get; init; }

    /// <summary>Each model the gateway metered for this run, with the price entry it was priced by.</summary>
    public IReadOnlyList<ModelGateway.MeteredModel>? MeteredModels { get; init; }
    public int ToolCalls { get; init; }

    /// <summary>The agent's final answer (a reviewer's verdict), capped in length.</summary>
    public string? Result { get; init; }

    /// <summary>The runtime's own name for how it ended: success, error_max_turns, error_max_budget_usd, ...</summary>
    public string? Subtype { get; init; }
    public string? TerminalReason { get; init; }
    public int? ApiErrorStatus { get; init; }
    public IReadOnlyList<PermissionDenial>? PermissionDenials { get; init; }
}

/// <summary>Tokens of an attempt, each model message counted once.</summary>
public sealed record TokenUsage(long Input, long Output, long CacheRead, long CacheCreation);

/// <summary>A tool call the permission rules refused (the tool's input is not kept).</summary>
public sealed record PermissionDenial(string Tool, string? ToolUseId);
