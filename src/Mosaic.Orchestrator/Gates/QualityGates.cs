using System.Globalization;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Gates;

/// <summary>
/// A gate that said no. <see cref="Fixable"/> false when another agent run cannot help (a broken gate file);
/// <see cref="Transient"/> when the gate itself could not judge for a passing reason (the model API overloaded during
/// the AI review): the attempt is retried with backoff instead of sending the agent to fix what is not broken.
/// </summary>
public sealed record GateFailure(GateResult Result, bool Fixable, bool Transient = false);

/// <summary>Runs the agent again for the AI review: the prompt and agent type given, in the same worktree.</summary>
public delegate Task<RuntimeResult> AgentRun(string prompt, AgentType asType, CancellationToken cancellationToken);

/// <summary>
/// The gates of the agent's profile, phase by phase. Without COORDINATOR_URL they run here, as the repository
/// declares them in `.mosaic/gates.yml` at its base commit (an agent cannot weaken its own gates by editing the
/// file on its branch), over GATES_CONFIG's per-repository and default commands. With it, the Coordinator judges
/// once, before push. Every verdict goes on the record with an agent.gate event; the first failure stops the phase.
/// </summary>
public sealed partial class QualityGates(
    IOptions<GateOptions> options,
    IWorkspaceInspector inspector,
    LocalGateRunner local,
    PromptTemplates prompts,
    IServiceProvider services,
    AgentTransitions transitions,
    ILogger<QualityGates> logger)
{
    public const string EventType = "agent.gate";

    private static readonly IReadOnlyDictionary<string, GateCommand> NoCommands = new Dictionary<string, GateCommand>();

    public bool Skipped => options.Value.YoloMode;

    public int FixAttempts => options.Value.GateFixAttempts;

    public IReadOnlyList<string> GatesOf(AgentRecord agent) =>
        GateCatalog.For(agent.GateProfile, agent.CustomGates ?? options.Value.CustomGates);

    public async Task<GateFailure?> RunPhaseAsync(AgentRecord agent, string phase, string worktree, int round, string leaseToken, AgentRun review, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.CoordinatorUrl is { Length: > 0 })
        {
            return phase == GateCatalog.PostCommit ? await AskCoordinatorAsync(agent, round, leaseToken, cancellationToken) : null;
        }

        var gates = GatesOf(agent).Where(g => GateCatalog.PhaseOf(g) == phase).ToList();
        IReadOnlyDictionary<string, GateCommand> commands = NoCommands;
        // Only a phase with a command gate reads the gate files (a `git show` per read).
        if (gates.Any(g => g != GateCatalog.AiReview))
        {
            try
            {
                commands = await CommandsForAsync(agent, cancellationToken);
            }
            catch (GateConfigException ex)
            {
                var broken = new GateResult("config", phase, "failed", false, 0, round, $"{GatesFile.RepositoryPath} at the base commit: {ex.Message}");
                await RecordAsync(agent, broken, leaseToken, cancellationToken);
                return new GateFailure(broken, Fixable: false);
            }
        }

        foreach (var gate in gates)
        {
            var transient = false;
            var result = gate switch
            {
                GateCatalog.AiReview => await ReviewAsync(agent, round, review, t => transient = t, cancellationToken),
                _ when commands.TryGetValue(gate, out var command) => await local.RunAsync(agent, gate, command, worktree, round, cancellationToken),
                _ => new GateResult(gate, phase, "not-configured", agent.GateProfile != GateProfile.Strict, 0, round,
                    agent.GateProfile == GateProfile.Strict ? "no command is configured, and the strict profile requires every gate" : "no command is configured"),
            };
            await RecordAsync(agent, result, leaseToken, cancellationToken);
            if (!result.Passed)
            {
                return new GateFailure(result, Fixable: !transient, transient);
            }
        }

        return null;
    }

    /// <summary>YOLO_MODE: every gate of the profile recorded as skipped (the runner logs and audits it).</summary>
    public async Task RecordSkippedAsync(AgentRecord agent, string leaseToken, CancellationToken cancellationToken)
    {
        LogYolo(logger, agent.AgentId);
        foreach (var gate in GatesOf(agent))
        {
            await RecordAsync(agent, new GateResult(gate, GateCatalog.PhaseOf(gate), "skipped", true, 0, 0, "YOLO_MODE"), leaseToken, cancellationToken);
        }
    }

    private async Task<IReadOnlyDictionary<string, GateCommand>> CommandsForAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var merged = new Dictionary<string, GateCommand>(StringComparer.Ordinal);
        if (options.Value.GatesConfig is { Length: > 0 } file)
        {
            var config = GatesFile.LoadConfig(await File.ReadAllTextAsync(file, cancellationToken));
            Merge(merged, config.Defaults);
            // Matched without credentials, a trailing slash or ".git", as people write URLs in config files.
            var wanted = Normalize(agent.Context.Repository);
            foreach (var (url, forRepository) in config.Repositories.Where(r => Normalize(r.Key) == wanted))
            {
                Merge(merged, forRepository);
            }
        }

        if (await inspector.ReadAtBaseAsync(agent, GatesFile.RepositoryPath, cancellationToken) is { } declared)
        {
            Merge(merged, GatesFile.LoadRepository(declared));
        }

        return merged;

        static string Normalize(string url)
        {
            var plain = RepositoryAddress.SplitCredentials(url).Url.TrimEnd('/');
            return plain.EndsWith(".git", StringComparison.OrdinalIgnoreCase) ? plain[..^4] : plain;
        }

        static void Merge(Dictionary<string, GateCommand> into, IReadOnlyDictionary<string, GateCommand> from)
        {
            foreach (var (name, command) in from)
            {
                into[name] = command;
            }
        }
    }

    private async Task<GateResult> ReviewAsync(AgentRecord agent, int round, AgentRun review, Action<bool> transient, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        var changes = await inspector.DescribeChangesAsync(agent, cancellationToken);
        var prompt = prompts.Render(agent with { AgentType = AgentType.Reviewer }) +
            $"\n\nThe change under review ({agent.BaseCommit}..{agent.HeadCommit}):\n{Cap(changes.Stat, MaxStatChars)}\n";
        var ran = await review(prompt, AgentType.Reviewer, cancellationToken);
        var elapsed = (long)TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        var minimum = options.Value.AiReviewMinConfidence;
        if (ran.Outcome != RunOutcome.Succeeded)
        {
            transient(ran.Outcome == RunOutcome.TransientFailure);
            return new GateResult(GateCatalog.AiReview, GateCatalog.PostCommit, "failed", false, elapsed, round, $"the review run failed: {ran.Reason}: {ran.Error}");
        }

        return AiReviewVerdict.Find(ran.Report?.Result) switch
        {
            null => new GateResult(GateCatalog.AiReview, GateCatalog.PostCommit, "failed", false, elapsed, round,
                "the reviewer gave no JSON verdict {approved, confidence, findings}"),
            { Approved: true } v when v.Confidence >= minimum => new GateResult(GateCatalog.AiReview, GateCatalog.PostCommit, "passed", true, elapsed, round,
                string.Create(CultureInfo.InvariantCulture, $"approved with confidence {v.Confidence:0.##}")),
            var v => new GateResult(GateCatalog.AiReview, GateCatalog.PostCommit, "failed", false, elapsed, round,
                string.Create(CultureInfo.InvariantCulture, $"{(v.Approved ? "approved" : "not approved")} with confidence {v.Confidence:0.##} (needs approval at {minimum:0.##})"),
                v.Findings.Count == 0 ? null : "- " + string.Join("\n- ", v.Findings)),
        };
    }

    private async Task<GateFailure?> AskCoordinatorAsync(AgentRecord agent, int round, string leaseToken, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        var changes = await inspector.DescribeChangesAsync(agent, cancellationToken);
        var verdict = await services.GetRequiredService<CoordinatorClient>().CheckAsync(agent, changes.Files.Take(10_000).ToList(), Cap(changes.Stat, 256 * 1024), GatesOf(agent), cancellationToken);
        var elapsed = (long)TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        var details = verdict.Details is { } d ? d.GetRawText() : null;
        var result = new GateResult(verdict.Gate, GateCatalog.PostCommit, verdict.Approved ? "passed" : "failed", verdict.Approved, elapsed, round,
            verdict.Message, details is { Length: > 4096 } ? details[..4096] : details);
        await RecordAsync(agent, result, leaseToken, cancellationToken);
        return verdict.Approved ? null : new GateFailure(result, Fixable: verdict.Gate != "coordinator");
    }

    /// <summary>Prompts travel as one argument (Linux caps one at 128 KiB): a huge change's --stat is cut.</summary>
    private const int MaxStatChars = 32 * 1024;

    private static string Cap(string text, int max) => text.Length <= max ? text : text[..max] + "\n[... cut]";

    private Task<AgentRecord> RecordAsync(AgentRecord agent, GateResult result, string leaseToken, CancellationToken cancellationToken) =>
        transitions.ChangeAsync(agent.AgentId, a => a with { Gates = [.. (a.Gates ?? []).TakeLast(99), result] }, cancellationToken, leaseToken,
            eventData: _ => new { gate = result.Gate, phase = result.Phase, status = result.Status, passed = result.Passed, durationMs = result.DurationMs, round = result.Round, message = result.Message, coveragePercent = result.CoveragePercent },
            eventType: EventType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "YOLO_MODE: quality gates skipped for agent {AgentId}")]
    private static partial void LogYolo(ILogger logger, Guid agentId);
}
