namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// One command to run for one agent: what a runtime or a gate asks of <see cref="IAgentProcesses"/>. It says what to
/// run, not how: paths are the agent's workspace and log paths, the environment is what the caller adds to the
/// agent's own (the allowlisted base, MOSAIC_AGENT_ID, MOSAIC_TASK_ID, HOME, TMPDIR, which the caller cannot change),
/// so a sandbox can run the same request in a container. <see cref="Executable"/> is a path on this host; a sandbox runs
/// the image's program of the same file name (found on the image's PATH), and mounts the working directory, HOME, TMPDIR
/// and the prompt file at the same paths inside.
/// </summary>
public sealed record AgentProcessRequest(
    Guid AgentId,
    string TaskId,
    string Executable,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    string LogPath)
{
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Empty the agent's HOME before the start (Claude Code: nothing an earlier run planted there is read).</summary>
    public bool FreshHome { get; init; }

    /// <summary>
    /// Files placed into HOME after it is made fresh, by path relative to HOME (no "..", not rooted), from a file the
    /// service kept: what the run may read of earlier runs (Claude Code's transcript of the session it continues).
    /// </summary>
    public IReadOnlyDictionary<string, string> HomeFiles { get; init; } = new Dictionary<string, string>();

    /// <summary>Sees each output line as it is written, on a reader's thread.</summary>
    public OutputLineHandler? OnLine { get; init; }

    /// <summary>What to keep of the output for <see cref="AgentProcessOutcome.Tail"/>; null keeps nothing.</summary>
    public OutputTailOptions? Tail { get; init; }

    /// <summary>Called once the process runs (to record it); when it throws, the process is ended and the error passed on.</summary>
    public Func<ProcessInfo, Task>? OnStarted { get; init; }
}

/// <summary>
/// How the command ended: its exit code, or cancelled when the caller cancelled (the whole tree was ended);
/// the processes that had to be signalled (leftovers of a finished command included), and the kept output tail.
/// </summary>
public sealed record AgentProcessOutcome(int ExitCode, bool Cancelled, IReadOnlyList<int> SignalledPids, string? Tail)
{
    /// <summary>The sandbox's memory limit ended it (the kernel's OOM killer in its cgroup): the run failed as `sandbox-oom`.</summary>
    public bool OutOfMemory { get; init; }

    /// <summary>When <paramref name="cancellationToken"/> stopped the run, throws, carrying the processes that were ended.</summary>
    public void ThrowIfStopped(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            throw new ProcessesStoppedException(SignalledPids, cancellationToken);
        }
    }
}

/// <summary>A run was stopped from outside (a kill, a shutdown) and its process tree ended; says which processes had to be signalled.</summary>
public sealed class ProcessesStoppedException(IReadOnlyList<int> signalledPids, CancellationToken cancellationToken)
    : OperationCanceledException("the agent's processes were stopped", cancellationToken)
{
    public IReadOnlyList<int> SignalledPids { get; } = signalledPids;
}

/// <summary>
/// The seam through which every agent process runs: agents' runtimes and gate commands. A request says what to run,
/// not where: <see cref="HostAgentProcesses"/> runs it on this host, and a container implementation can run the same
/// request in a sandbox. Nothing outside Processes/ starts, finds or ends an agent's processes itself.
/// </summary>
public interface IAgentProcesses
{
    /// <summary>Null when commands of <paramref name="executable"/> can run for agents here, else why not (readiness).</summary>
    Task<string?> CheckAsync(string executable, CancellationToken cancellationToken);

    /// <summary>Runs the command to its end; cancelling ends its whole tree and returns it as cancelled.</summary>
    Task<AgentProcessOutcome> RunAsync(AgentProcessRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Ends every process of the agent (graceful signal, KILL_GRACE_SECONDS, then force), including ones left from an
    /// earlier run or a crashed orchestrator. The root, when known, also catches what left the marker behind.
    /// Returns the PIDs that were signalled.
    /// </summary>
    Task<IReadOnlyList<int>> EndAsync(Guid agentId, int? rootPid, long? rootStartTicks);

    /// <summary>The agents that have processes running here, with how many each (recovery after a restart).</summary>
    Task<IReadOnlyDictionary<Guid, int>> FindAgentsAsync(CancellationToken cancellationToken);
}
