namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// The agent's environment is built from an allowlist, never inherited whole: the orchestrator's own secrets
/// (ORCHESTRATOR_API_KEY, VALKEY_PASSWORD, cloud credentials) must not reach code the agent runs. Even names listed
/// in AGENT_ENV_PASSTHROUGH are refused when they are the orchestrator's own secrets or Claude Code's internal
/// variables (a parent Claude Code session's CLAUDECODE / CLAUDE_CODE_* would change how the agent's CLI behaves).
/// </summary>
public static class AgentEnvironment
{
    private static readonly string[] Baseline = ["PATH", "LANG", "LC_ALL", "TZ", "TERM"];
    private static readonly string[] NeverPassed = ["ORCHESTRATOR_API_KEY", "VALKEY_PASSWORD", "CLAUDE_API_KEY", "ANTHROPIC_API_KEY", "CLAUDECODE"];

    /// <summary>
    /// The allowlisted base, then what the request adds (its own choice, so not filtered: Claude Code's key is one),
    /// then what identifies the agent, last so no request can change it: the marker a kill finds its processes by,
    /// its task, and the HOME and TMPDIR of its own.
    /// </summary>
    public static Dictionary<string, string> Build(string? passthroughNames, AgentFolder folder, AgentProcessRequest request)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = Baseline.Concat((passthroughNames ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var name in names.Where(IsPassable))
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        environment.TryAdd("PATH", "/usr/local/bin:/usr/bin:/bin");
        foreach (var (name, value) in request.Environment)
        {
            environment[name] = value;
        }

        environment[AgentMarker.Name] = request.AgentId.ToString();
        environment["MOSAIC_TASK_ID"] = request.TaskId;
        environment["HOME"] = folder.Home;
        environment["TMPDIR"] = folder.Tmp;
        return environment;
    }

    public static bool IsPassable(string name) =>
        !NeverPassed.Contains(name, StringComparer.OrdinalIgnoreCase)
        && !name.StartsWith("CLAUDE_CODE_", StringComparison.OrdinalIgnoreCase);
}
