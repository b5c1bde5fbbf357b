using System.Globalization;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>
/// Runs Claude Code headless in the agent's workspace and reads its stream-json output. Three watchdogs end the
/// whole process tree: no output for CLAUDE_IDLE_TIMEOUT_SECONDS, the process still alive CLAUDE_RESULT_GRACE_SECONDS
/// after its result line, and (in the runner) AGENT_TIMEOUT_MINUTES in all. The kill order is the process seam's
/// (<see cref="IAgentProcesses"/>): stdin is closed from the start (the CLI would otherwise wait for piped input), then
/// SIGTERM to the tree, then SIGKILL after KILL_GRACE_SECONDS.
/// </summary>
public sealed partial class ClaudeCodeRuntime(
    IOptions<ClaudeCodeOptions> claudeOptions,
    IOptions<OrchestratorOptions> options,
    IAgentProcesses processes,
    AgentEvents events,
    ModelGateway.GatewayAccess gateway,
    TimeProvider time,
    ILogger<ClaudeCodeRuntime> logger) : IAgentRuntime
{
    private const int StderrTailChars = 2000;
    private readonly ClaudeBinary _binary = new(claudeOptions.Value.ClaudePath, Path.Combine(options.Value.FullDataDir, "runtime", "claude"));

    private string? _version;

    public string Name => "claude-code";

    public string Description => _version is null ? Name : $"{Name} ({_version})";

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        // Everything that is missing at once: a new user should not fix one thing only to be told of the next.
        var problems = new List<string>(2);
        if (string.IsNullOrEmpty(claudeOptions.Value.ApiKey))
        {
            problems.Add("CLAUDE_API_KEY is not set (the Anthropic API key handed to Claude Code)");
        }

        var (_, version, problem) = await _binary.ProbeAsync(cancellationToken);
        _version = version;
        if (problem is not null)
        {
            problems.Add(problem);
        }

        return problems.Count == 0 ? null : string.Join("; and ", problems);
    }

    public async Task<RuntimeResult> RunAsync(AgentRunContext context, CancellationToken cancellationToken)
    {
        var claude = claudeOptions.Value;
        var agent = context.Agent;
        var (path, _, problem) = await _binary.ProbeAsync(cancellationToken);
        if (path is null || problem is not null)
        {
            return RuntimeResult.Failed(FailureReason.RuntimeUnavailable, problem ?? "claude was not found");
        }

        // Through the gateway the agent holds a credential for this run only; the real key stays in the service.
        var environment = BuildEnvironment(claude);
        using var pass = await gateway.OpenAsync(agent, cancellationToken);
        if (pass is not null)
        {
            environment["ANTHROPIC_API_KEY"] = pass.Credential;
            environment["ANTHROPIC_BASE_URL"] = pass.BaseUrl;
        }

        var stream = new ClaudeStream(time);
        // Continue the session only when its transcript was kept; otherwise the run starts a new one.
        var transcript = ClaudeSessions.HomeFilesOf(context.Folder, context.ContinueSession, context.WorkspacePath);
        var continued = transcript.Count > 0 ? context.ContinueSession : null;
        var request = new AgentProcessRequest(agent.AgentId, agent.TaskId, path, Arguments(claude.ProfileFor(agent.AgentType), context.Prompt, continued), context.WorkspacePath, context.Folder.AttemptLog(agent.Attempt))
        {
            Environment = environment,
            // A fresh HOME for every run: whatever an earlier run or a gate command left there (settings, hooks) is gone;
            // only the transcript of the session it continues is put back.
            FreshHome = true,
            HomeFiles = transcript,
            OnLine = (line, standardError) =>
            {
                if (standardError)
                {
                    stream.Touch();
                }
                else
                {
                    stream.Accept(line);
                }
            },
            Tail = new OutputTailOptions(StderrTailChars, OutputStreams.StandardError),
            OnStarted = context.OnProcessStarted,
        };

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var watchEnd = new CancellationTokenSource();
        var watchdog = Watchdog.None;
        var watch = WatchAsync(agent, stream, claude, fired =>
        {
            watchdog = fired;
            stop.Cancel();
        }, watchEnd.Token);

        AgentProcessOutcome outcome;
        try
        {
            outcome = await processes.RunAsync(request, stop.Token);
        }
        finally
        {
            await watchEnd.CancelAsync();
            await watch;
            pass?.Dispose(); // the run is over: its credential goes now, not when this method returns
        }

        ClaudeSessions.Keep(context.Folder, stream.SessionId);
        outcome.ThrowIfStopped(cancellationToken);
        var result = outcome.OutOfMemory
            ? RuntimeResult.Failed(FailureReason.SandboxOom, "the sandbox's memory limit (SANDBOX_MEMORY) ended Claude Code", outcome.ExitCode)
            : ClaudeOutcome.Classify(stream.Result, outcome.ExitCode, watchdog, outcome.Tail?.Trim(), claude.IdleTimeout);
        if (watchdog != Watchdog.None)
        {
            LogWatchdog(logger, agent.AgentId, watchdog, outcome.SignalledPids.Count);
        }

        result = result with { Report = stream.Snapshot(agent.Attempt) with { ContinuedSession = continued } };
        // Through the gateway, its figures are the run's (the CLI's own kept beside them), and what it refused or met decides.
        return pass?.Judge(result) ?? result;
    }

    /// <summary>
    /// The options first, each list one argument (tool patterns hold spaces), then -p and the prompt after "--"
    /// so a prompt can never be read as an option. --tools leaves the agent only the tools it is allowed; no settings
    /// file is loaded (not the repository's, not one in HOME: the agent's own earlier run could have planted one that
    /// widens permissions, adds hooks or points the CLI at another API), and no MCP servers.
    /// </summary>
    public static IReadOnlyList<string> Arguments(ClaudeAgentProfile profile, string prompt, string? continueSession = null)
    {
        var arguments = new List<string>
        {
            "--output-format", "stream-json",
            "--verbose",
            "--permission-mode", profile.PermissionMode,
            "--tools", string.Join(',', profile.ToolNames),
            "--allowedTools", string.Join(',', profile.AllowedTools),
            "--setting-sources", "",
            "--strict-mcp-config",
        };
        if (profile.Model is { Length: > 0 } model)
        {
            arguments.AddRange(["--model", model]);
        }

        if (profile.MaxTurns is { } turns)
        {
            arguments.AddRange(["--max-turns", turns.ToString(CultureInfo.InvariantCulture)]);
        }

        if (profile.MaxBudgetUsd is { } budget)
        {
            arguments.AddRange(["--max-budget-usd", budget.ToString(CultureInfo.InvariantCulture)]);
        }

        if (continueSession is not null)
        {
            arguments.AddRange(["--resume", continueSession]);
        }

        arguments.AddRange(["-p", "--", prompt]);
        return arguments;
    }

    /// <summary>
    /// What Claude Code needs on top of the agent's own environment (the allowlisted base, never the orchestrator's,
    /// with a HOME and TMPDIR of this agent's own): the key under the name it reads, the base URL when set, no
    /// non-essential traffic, no self-update.
    /// </summary>
    public static Dictionary<string, string> BuildEnvironment(ClaudeCodeOptions claude)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        environment["ANTHROPIC_API_KEY"] = claude.ApiKey ?? "";
        if (!string.IsNullOrEmpty(claude.BaseUrl))
        {
            environment["ANTHROPIC_BASE_URL"] = claude.BaseUrl;
        }

        environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
        environment["DISABLE_AUTOUPDATER"] = "1";
        if (claude.MaxRetries is { } retries)
        {
            environment["CLAUDE_CODE_MAX_RETRIES"] = retries.ToString(CultureInfo.InvariantCulture);
        }

        return environment;
    }

    private async Task WatchAsync(AgentRecord agent, ClaudeStream stream, ClaudeCodeOptions claude, Action<Watchdog> fire, CancellationToken cancellationToken)
    {
        var shortest = new[] { claude.IdleTimeout, claude.ResultGrace, claude.ProgressInterval }.Where(t => t > TimeSpan.Zero).DefaultIfEmpty(TimeSpan.FromSeconds(1)).Min();
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(shortest.TotalMilliseconds / 4, 20, 1000));
        using var timer = new PeriodicTimer(tick, time);
        var published = 0L;
        var publishedAt = DateTimeOffset.MinValue;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = time.GetUtcNow();
                if (stream.ResultAt is { } resultAt && now - resultAt >= claude.ResultGrace)
                {
                    fire(Watchdog.AfterResult);
                    return;
                }

                if (stream.ResultAt is null && now - stream.LastOutputAt >= claude.IdleTimeout)
                {
                    fire(Watchdog.Idle);
                    return;
                }

                if (stream.Changes != published && now - publishedAt >= claude.ProgressInterval)
                {
                    published = stream.Changes;
                    publishedAt = now;
                    await PublishProgressAsync(agent, stream, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The process ended.
        }
    }

    private async Task PublishProgressAsync(AgentRecord agent, ClaudeStream stream, CancellationToken cancellationToken)
    {
        try
        {
            await events.PublishAsync(AgentEventTypes.Progress, agent, stream.Progress(), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogProgressFailed(logger, ex, agent.AgentId); // progress is a courtesy; the run goes on
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watchdog {Watchdog} ended claude for agent {AgentId} ({Signalled} processes signalled)")]
    private static partial void LogWatchdog(ILogger logger, Guid agentId, Watchdog watchdog, int signalled);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing progress of agent {AgentId} failed")]
    private static partial void LogProgressFailed(ILogger logger, Exception ex, Guid agentId);
}
