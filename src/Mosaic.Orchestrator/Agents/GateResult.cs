namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// One gate's verdict on one round of the agent's work. Status: passed, failed, not-configured (passes except
/// under strict), skipped (YOLO_MODE). Round 0 is the agent's first result, each fix run adds one.
/// </summary>
public sealed record GateResult(
    string Gate,
    string Phase,
    string Status,
    bool Passed,
    long DurationMs,
    int Round,
    string? Message = null,
    string? OutputTail = null,
    double? CoveragePercent = null);
