using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Gates;

/// <summary>YOLO_MODE: every gate of the profile is recorded skipped, with a warning and one audit entry per run.</summary>
public sealed partial class SkippedGateJudge(IOptions<GateOptions> options, AuditTrail audit, TimeProvider time, ILogger<SkippedGateJudge> logger) : IGateJudge
{
    public async IAsyncEnumerable<GateVerdict> JudgeAsync(GateRequest request, string phase, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var agent = request.Agent;
        var gates = options.Value.GatesOf(agent);
        if (phase == GateCatalog.PreCommit)
        {
            LogYolo(logger, agent.AgentId);
            await audit.RecordAsync(new AuditEntry("gates-skipped", "YOLO_MODE", agent.AgentId, agent.TaskId,
                $"YOLO_MODE=true: gates {string.Join(", ", gates)} not run", agent.Status.ToString().ToLowerInvariant(), time.GetUtcNow()), cancellationToken);
        }

        foreach (var gate in gates.Where(g => GateCatalog.PhaseOf(g) == phase))
        {
            yield return new GateVerdict(new GateResult(gate, phase, "skipped", true, 0, request.Round, "YOLO_MODE"));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "YOLO_MODE: quality gates skipped for agent {AgentId}")]
    private static partial void LogYolo(ILogger logger, Guid agentId);
}
