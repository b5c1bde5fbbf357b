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
    public double? CostUsd { get; init; }
    public TokenUsage? Tokens { get; init; }

    /// <summary>Tokens as the model gateway metered them from the API's answers (the CLI's own count is <see cref="Tokens"/>).</summary>
    public TokenUsage? MeteredTokens { get; init; }
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
