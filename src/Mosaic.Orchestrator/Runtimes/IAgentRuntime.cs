using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Runtimes;

/// <summary>
/// Everything a runtime needs for one run. <see cref="ContinueSession"/>: the session id (from an earlier run's
/// report) whose conversation this run continues, when the runtime can; a runtime that cannot starts afresh.
/// </summary>
/// <remarks>Runtimes start their processes through IAgentProcesses and must not assume they run on the host.</remarks>
public sealed record AgentRunContext(
    AgentRecord Agent,
    string WorkspacePath,
    AgentFolder Folder,
    string Prompt,
    Func<ProcessInfo, Task> OnProcessStarted,
    string? ContinueSession = null);

/// <summary>How a run ended (succeeded when <see cref="Failure"/> is null; the failure carries its retry policy), and what the runtime reported about it.</summary>
public sealed record RuntimeResult(int? ExitCode, Failure? Failure = null, AgentRunReport? Report = null)
{
    public bool Succeeded => Failure is null;

    public static RuntimeResult Success(int exitCode) => new(exitCode);

    public static RuntimeResult Failed(FailureReason reason, string message, int? exitCode = null) => new(exitCode, new Failure(reason, message, exitCode));
}

/// <summary>A way of running an agent (a CLI agent, Claude Code, ...). Cancellation ends the agent's whole process tree, then throws.</summary>
public interface IAgentRuntime
{
    string Name { get; }

    /// <summary>The runtime as readiness names it once a check has passed (e.g. with the CLI's version).</summary>
    string Description => Name;

    /// <summary>Null when the runtime can run here, else why not (readiness, and fast failure of spawns).</summary>
    Task<string?> CheckAsync(CancellationToken cancellationToken);

    Task<RuntimeResult> RunAsync(AgentRunContext context, CancellationToken cancellationToken);
}
