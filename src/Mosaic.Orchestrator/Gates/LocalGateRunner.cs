using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Runtimes;

namespace Mosaic.Orchestrator.Gates;

/// <summary>
/// Runs one gate command with /bin/sh in the agent's worktree, as an agent process would run: its own session,
/// the agent's marker (a kill ends it), the allowlisted environment, a time limit. The exit code decides; for
/// coverage, the report it leaves decides against the threshold.
/// </summary>
public sealed class LocalGateRunner(IOptions<OrchestratorOptions> options, IOptions<GateOptions> gateOptions)
{
    private const long MaxReportBytes = 64L * 1024 * 1024;

    public async Task<GateResult> RunAsync(AgentRecord agent, string gate, GateCommand command, string worktree, int round, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var gates = gateOptions.Value;
        var agentDirectory = Path.Combine(settings.FullDataDir, "agents", agent.AgentId.ToString());
        var home = Path.Combine(agentDirectory, "home");
        var tmp = Path.Combine(agentDirectory, "tmp");
        Directory.CreateDirectory(home);
        Directory.CreateDirectory(tmp);
        var environment = AgentEnvironment.Build(settings.AgentEnvPassthrough, home, tmp);
        environment["MOSAIC_AGENT_ID"] = agent.AgentId.ToString();
        environment["MOSAIC_TASK_ID"] = agent.TaskId;
        environment["MOSAIC_GATE"] = gate;

        var tail = new OutputTail(gates.GateOutputTailBytes);
        var timeout = TimeSpan.FromSeconds(command.TimeoutSeconds ?? gates.GateTimeoutSeconds);
        var spec = new ProcessSpec(
            "/bin/sh",
            ["-c", command.Command],
            worktree,
            environment,
            AgentMarker.For(agent.AgentId),
            Path.Combine(agentDirectory, string.Create(CultureInfo.InvariantCulture, $"gate-{gate}-attempt-{agent.Attempt}-round-{round}.log")),
            settings.AgentLogMaxBytes,
            settings.AgentNice,
            (line, _) => tail.Add(line));

        if (gate == GateCatalog.Coverage && InsideWorktree(worktree, command.Report) is { } stale && File.Exists(stale))
        {
            // A report the agent committed must not stand in for one the command failed to write.
            File.Delete(stale);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var started = TimeProvider.System.GetTimestamp();
        var outcome = await ProcessLauncher.RunAsync(spec, settings.KillGrace, _ => Task.CompletedTask, limit.Token);
        cancellationToken.ThrowIfCancellationRequested();
        var elapsed = (long)TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        var phase = GateCatalog.PhaseOf(gate);

        if (outcome.Cancelled)
        {
            return new GateResult(gate, phase, "failed", false, elapsed, round, $"timed out after {timeout.TotalSeconds:0} s", tail.Text);
        }

        if (outcome.ExitCode != 0)
        {
            return new GateResult(gate, phase, "failed", false, elapsed, round, $"`{command.Command}` exited with code {outcome.ExitCode}", tail.Text);
        }

        if (gate != GateCatalog.Coverage)
        {
            return new GateResult(gate, phase, "passed", true, elapsed, round, null, tail.Text);
        }

        var threshold = command.Threshold ?? gates.CoverageThreshold;
        var percent = await ReadCoverageAsync(worktree, command.Report, cancellationToken);
        return percent switch
        {
            null => new GateResult(gate, phase, "failed", false, elapsed, round,
                $"no readable coverage report at {command.Report ?? "(report not configured)"}", tail.Text),
            { } p when p < threshold => new GateResult(gate, phase, "failed", false, elapsed, round,
                string.Create(CultureInfo.InvariantCulture, $"line coverage {p:0.##}% is below {threshold:0.##}%"), tail.Text, p),
            { } p => new GateResult(gate, phase, "passed", true, elapsed, round,
                string.Create(CultureInfo.InvariantCulture, $"line coverage {p:0.##}% (threshold {threshold:0.##}%)"), tail.Text, p),
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

    /// <summary>The last bytes a gate wrote, whole lines, for the record and the fix prompt.</summary>
    private sealed class OutputTail(int maxChars)
    {
        private readonly StringBuilder _text = new();

        public string? Text
        {
            get
            {
                lock (_text)
                {
                    return _text.Length == 0 ? null : _text.ToString();
                }
            }
        }

        public void Add(ReadOnlySpan<byte> line)
        {
            var text = Encoding.UTF8.GetString(line);
            lock (_text)
            {
                _text.Append(text).Append('\n');
                if (_text.Length > maxChars)
                {
                    _text.Remove(0, _text.Length - maxChars);
                }
            }
        }
    }
}
