using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>
/// Settings of the claude-code runtime, bound from the same flat names as every other setting. Model, turns,
/// budget and tools can differ per agent type: CLAUDE_WORKER_MODEL wins over CLAUDE_MODEL, and so on.
/// </summary>
public sealed class ClaudeCodeOptions
{
    /// <summary>Unset: <c>claude</c> on PATH, else the copy scripts/setup.sh installed (see <see cref="ClaudeLocation"/>).</summary>
    [ConfigurationKeyName("CLAUDE_PATH"), Required]
    public string ClaudePath { get; set; } = ClaudeLocation.Default();

    [ConfigurationKeyName("CLAUDE_API_KEY")]
    public string? ApiKey { get; set; }

    [ConfigurationKeyName("ANTHROPIC_BASE_URL")]
    public string? BaseUrl { get; set; }

    [ConfigurationKeyName("CLAUDE_MODEL")]
    public string? Model { get; set; }

    [ConfigurationKeyName("CLAUDE_MAX_TURNS"), Range(1, 100_000)]
    public int? MaxTurns { get; set; }

    [ConfigurationKeyName("CLAUDE_MAX_BUDGET_USD"), Range(0.0001, 1_000_000)]
    public double? MaxBudgetUsd { get; set; }

    [ConfigurationKeyName("CLAUDE_WORKER_MODEL")]
    public string? WorkerModel { get; set; }

    [ConfigurationKeyName("CLAUDE_REVIEWER_MODEL")]
    public string? ReviewerModel { get; set; }

    [ConfigurationKeyName("CLAUDE_TESTER_MODEL")]
    public string? TesterModel { get; set; }

    [ConfigurationKeyName("CLAUDE_WORKER_MAX_TURNS"), Range(1, 100_000)]
    public int? WorkerMaxTurns { get; set; }

    [ConfigurationKeyName("CLAUDE_REVIEWER_MAX_TURNS"), Range(1, 100_000)]
    public int? ReviewerMaxTurns { get; set; }

    [ConfigurationKeyName("CLAUDE_TESTER_MAX_TURNS"), Range(1, 100_000)]
    public int? TesterMaxTurns { get; set; }

    [ConfigurationKeyName("CLAUDE_WORKER_MAX_BUDGET_USD"), Range(0.0001, 1_000_000)]
    public double? WorkerMaxBudgetUsd { get; set; }

    [ConfigurationKeyName("CLAUDE_REVIEWER_MAX_BUDGET_USD"), Range(0.0001, 1_000_000)]
    public double? ReviewerMaxBudgetUsd { get; set; }

    [ConfigurationKeyName("CLAUDE_TESTER_MAX_BUDGET_USD"), Range(0.0001, 1_000_000)]
    public double? TesterMaxBudgetUsd { get; set; }

    /// <summary>Tools a worker may use without asking; the only tools it has at all (patterns such as Bash(git diff:*) allowed).</summary>
    [ConfigurationKeyName("CLAUDE_WORKER_ALLOWED_TOOLS"), Required]
    public string WorkerAllowedTools { get; set; } = "Read,Write,Edit,NotebookEdit,Bash";

    /// <summary>A reviewer reads: no Write or Edit, and only the git commands that show history.</summary>
    [ConfigurationKeyName("CLAUDE_REVIEWER_ALLOWED_TOOLS"), Required]
    public string ReviewerAllowedTools { get; set; } = "Read,Bash(git diff:*),Bash(git log:*),Bash(git show:*),Bash(git status:*)";

    [ConfigurationKeyName("CLAUDE_TESTER_ALLOWED_TOOLS"), Required]
    public string TesterAllowedTools { get; set; } = "Read,Write,Edit,Bash";

    /// <summary>How workers and testers are asked about tools: acceptEdits lets them edit files in their worktree.</summary>
    [ConfigurationKeyName("CLAUDE_PERMISSION_MODE"), Required]
    public string PermissionMode { get; set; } = "acceptEdits";

    /// <summary>
    /// A reviewer gets dontAsk: only its allowed tools run. (acceptEdits would also pass file-changing shell
    /// commands such as touch, measured with the CLI 2.1.332.)
    /// </summary>
    [ConfigurationKeyName("CLAUDE_REVIEWER_PERMISSION_MODE"), Required]
    public string ReviewerPermissionMode { get; set; } = "dontAsk";

    /// <summary>No output at all for this long: the agent is ended as stalled (a hung API stream, a stuck tool).</summary>
    [ConfigurationKeyName("CLAUDE_IDLE_TIMEOUT_SECONDS"), Range(1, 604800)]
    public double IdleTimeoutSeconds { get; set; } = 600;

    /// <summary>How long the process may live on after its result line before it is ended.</summary>
    [ConfigurationKeyName("CLAUDE_RESULT_GRACE_SECONDS"), Range(0, 3600)]
    public double ResultGraceSeconds { get; set; } = 30;

    /// <summary>Handed to the CLI as CLAUDE_CODE_MAX_RETRIES: how often it retries a failed API call itself.</summary>
    [ConfigurationKeyName("CLAUDE_MAX_RETRIES"), Range(0, 100)]
    public int? MaxRetries { get; set; }

    [ConfigurationKeyName("CLAUDE_PROGRESS_INTERVAL_SECONDS"), Range(0.05, 3600)]
    public double ProgressIntervalSeconds { get; set; } = 5;

    public TimeSpan IdleTimeout => TimeSpan.FromSeconds(IdleTimeoutSeconds);

    public TimeSpan ResultGrace => TimeSpan.FromSeconds(ResultGraceSeconds);

    public TimeSpan ProgressInterval => TimeSpan.FromSeconds(ProgressIntervalSeconds);

    public ClaudeAgentProfile ProfileFor(AgentType type) => type switch
    {
        AgentType.Reviewer => new(ReviewerModel ?? Model, ReviewerMaxTurns ?? MaxTurns, ReviewerMaxBudgetUsd ?? MaxBudgetUsd, ToolList.Parse(ReviewerAllowedTools), ReviewerPermissionMode),
        AgentType.Tester => new(TesterModel ?? Model, TesterMaxTurns ?? MaxTurns, TesterMaxBudgetUsd ?? MaxBudgetUsd, ToolList.Parse(TesterAllowedTools), PermissionMode),
        _ => new(WorkerModel ?? Model, WorkerMaxTurns ?? MaxTurns, WorkerMaxBudgetUsd ?? MaxBudgetUsd, ToolList.Parse(WorkerAllowedTools), PermissionMode),
    };
}

/// <summary>How one agent type runs: model, limits, and its allowed tools.</summary>
public sealed record ClaudeAgentProfile(string? Model, int? MaxTurns, double? MaxBudgetUsd, IReadOnlyList<string> AllowedTools, string PermissionMode)
{
    /// <summary>The tools the agent has at all: the names of the allowed entries (Bash(git diff:*) is the Bash tool).</summary>
    public IReadOnlyList<string> ToolNames => [.. AllowedTools.Select(ToolList.NameOf).Distinct(StringComparer.Ordinal)];
}

public static class ToolList
{
    public static IReadOnlyList<string> Parse(string list)
    {
        // Commas separate entries, except inside a pattern's parentheses: Bash(npm run test, lint) stays whole.
        var entries = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= list.Length; i++)
        {
            if (i == list.Length || (list[i] == ',' && depth == 0))
            {
                var entry = list[start..i].Trim();
                if (entry.Length > 0)
                {
                    entries.Add(entry);
                }

                start = i + 1;
            }
            else if (list[i] == '(')
            {
                depth++;
            }
            else if (list[i] == ')')
            {
                depth = Math.Max(0, depth - 1);
            }
        }

        return entries;
    }

    public static string NameOf(string entry) => entry.IndexOf('(', StringComparison.Ordinal) is var open and > 0 ? entry[..open].Trim() : entry;
}

/// <summary>Refuses settings that would let an agent do anything at all as root, and malformed tool lists.</summary>
public sealed partial class ClaudeCodeOptionsValidator : IValidateOptions<ClaudeCodeOptions>
{
    public static readonly string[] PermissionModes = ["acceptEdits", "default", "dontAsk", "plan", "bypassPermissions"];

    public ValidateOptionsResult Validate(string? name, ClaudeCodeOptions options)
    {
        var failures = new List<string>();
        foreach (var (setting, mode) in new[] { ("CLAUDE_PERMISSION_MODE", options.PermissionMode), ("CLAUDE_REVIEWER_PERMISSION_MODE", options.ReviewerPermissionMode) })
        {
            if (!PermissionModes.Contains(mode, StringComparer.Ordinal))
            {
                failures.Add($"{setting} '{mode}' is unknown; use one of: {string.Join(", ", PermissionModes)}.");
            }
            else if (mode == "bypassPermissions" && RunsAsRoot())
            {
                failures.Add($"{setting}=bypassPermissions is refused while the orchestrator runs as root: an agent could then run " +
                    "anything as root. Use acceptEdits with CLAUDE_*_ALLOWED_TOOLS, or run the orchestrator as an unprivileged user.");
            }
        }

        foreach (var (setting, value) in new[]
        {
            ("CLAUDE_WORKER_ALLOWED_TOOLS", options.WorkerAllowedTools),
            ("CLAUDE_REVIEWER_ALLOWED_TOOLS", options.ReviewerAllowedTools),
            ("CLAUDE_TESTER_ALLOWED_TOOLS", options.TesterAllowedTools),
        })
        {
            var entries = ToolList.Parse(value);
            if (entries.Count == 0)
            {
                failures.Add($"{setting} names no tools.");
            }

            foreach (var entry in entries.Where(e => !ToolEntry().IsMatch(e)))
            {
                failures.Add($"{setting}: '{entry}' is not a tool name or a Tool(pattern) entry.");
            }
        }

        if (options.BaseUrl is { Length: > 0 } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            failures.Add("ANTHROPIC_BASE_URL must be an absolute http(s) URL.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Tests replace this to check the rule for both users.</summary>
    public Func<bool> RunsAsRoot { get; init; } = () => Environment.IsPrivilegedProcess;

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]*(\([^()]*\))?$")]
    private static partial System.Text.RegularExpressions.Regex ToolEntry();
}
