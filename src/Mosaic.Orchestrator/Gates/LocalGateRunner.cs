using System.Globalization;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Gates;

/// <summary>
/// Runs one gate command with /bin/sh in the agent's worktree, as an agent process would run: its own session,
/// the agent's marker (a kill ends it), the allowlisted environment, a time limit. The exit code decides; for
/// coverage, the report it leaves decides against the threshold.
/// </summary>
public sealed class LocalGateRunner(IOptions<OrchestratorOptions> options, IOptions<GateOptions> gateOptions, IAgentProcesses processes)
{
    private const long MaxReportBytes = 64L * 1024 * 1024;

    public async Task<GateResult> RunAsync(AgentRecord agent, string gate, GateCommand command, string worktree, int round, CancellationToken cancellationToken)
    {
        var gates = gateOptions.Value;
        var timeout = TimeSpan.FromSeconds(command.TimeoutSeconds ?? gates.GateTimeoutSeconds);
        var log = AgentFolder.For(options.Value.FullDataDir, agent.AgentId).GateLog(gate, agent.Attempt, round);
        var request = new AgentProcessRequest(agent.AgentId, agent.TaskId, "/bin/sh", ["-c", command.Command], worktree, log)
        {
            Environment = new Dictionary<string, string> { ["MOSAIC_GATE"] = gate },
            Tail = new OutputTailOptions(gates.GateOutputTailBytes),
        };

        if (gate == GateCatalog.Coverage && InsideWorktree(worktree, command.Report) is { } stale && File.Exists(stale))
        {
            // A report the agent committed must not stand in for one the command failed to write.
            File.Delete(stale);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var started = TimeProvider.System.GetTimestamp();
        var outcome = await processes.RunAsync(request, limit.Token);
        outcome.ThrowIfStopped(cancellationToken);
        var elapsed = (long)TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        var phase = GateCatalog.PhaseOf(gate);

        if (outcome.Cancelled)
        {
            return new GateResult(gate, phase, "failed", false, elapsed, round, $"timed out after {timeout.TotalSeconds:0} s", outcome.Tail);
        }

        if (outcome.OutOfMemory)
        {
            return new GateResult(gate, phase, "failed", false, elapsed, round, "the sandbox's memory limit (SANDBOX_MEMORY) ended the command", outcome.Tail);
        }

        if (outcome.ExitCode != 0)
        {
            return new GateResult(gate, phase, "failed", false, elapsed, round, $"`{command.Command}` exited with code {outcome.ExitCode}", outcome.Tail);
        }

        if (gate != GateCatalog.Coverage)
        {
            return new GateResult(gate, phase, "passed", true, elapsed, round, null, outcome.Tail);
        }

        var threshold = command.Threshold ?? gates.CoverageThreshold;
        var percent = await ReadCoverageAsync(worktree, command.Report, cancellationToken);
        return percent switch
        {
            null => new GateResult(gate, phase, "failed", false, elapsed, round,
                $"no readable coverage report at {command.Report ?? "(report not configured)"}", outcome.Tail),
            { } p when p < threshold => new GateResult(gate, phase, "failed", false, elapsed, round,
                string.Create(CultureInfo.InvariantCulture, $"line coverage {p:0.##}% is below {threshold:0.##}%"), outcome.Tail, p),
            { } p => new GateResult(gate, phase, "passed", true, elapsed, round,
                string.Create(CultureInfo.InvariantCulture, $"line coverage {p:0.##}% (threshold {threshold:0.##}%)"), outcome.Tail, p),
        };
    }

    /// <summary>
    /// The report is read only when it is a non-empty file inside the worktree reached without any symbolic link (so
    /// not a link out of the worktree, and not a FIFO or device, whose size is 0: reading those could block or never
    /// end), of sane size, with the attempt's cancellation.
    /// </summary>
    private static async Task<double?> ReadCoverageAsync(string worktree, string? report, CancellationToken cancellationToken)
    {
        if (InsideWorktree(worktree, report) is not { } path)
        {
            return null;
        }

        var root = Path.GetFullPath(worktree).TrimEnd(Path.DirectorySeparatorChar);
        for (var part = path; part.Length > root.Length; part = Path.GetDirectoryName(part)!)
        {
            FileSystemInfo entry = Directory.Exists(part) ? new DirectoryInfo(part) : new FileInfo(part);
            if (entry.LinkTarget is not null)
            {
                return null;
            }
        }

        var file = new FileInfo(path);
        if (!file.Exists || file.Length == 0 || file.Length > MaxReportBytes)
        {
            return null;
        }

        await using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, Options = FileOptions.Asynchronous });
        var buffer = new byte[(int)Math.Min(file.Length, MaxReportBytes)];
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return CoverageReport.LinePercent(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
    }

    private static string? InsideWorktree(string worktree, string? report)
    {
        if (string.IsNullOrEmpty(report))
        {
            return null;
        }

        var root = Path.GetFullPath(worktree).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var path = Path.GetFullPath(Path.Combine(worktree, report));
        return path.StartsWith(root, StringComparison.Ordinal) ? path : null;
    }
}
