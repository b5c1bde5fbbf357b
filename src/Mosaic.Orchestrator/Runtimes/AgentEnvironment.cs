namespace Mosaic.Orchestrator.Runtimes;

/// <summary>
/// The agent's environment is built from an allowlist, never inherited whole: the orchestrator's own secrets
/// (ORCHESTRATOR_API_KEY, VALKEY_PASSWORD, cloud credentials) must not reach code the agent runs.
/// </summary>
public static class AgentEnvironment
{
    private static readonly string[] Baseline = ["PATH", "LANG", "LC_ALL", "TZ", "TERM"];

    public static Dictionary<string, string> Build(string? passthroughNames, string home, string tmp)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = Baseline.Concat((passthroughNames ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var name in names)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        environment.TryAdd("PATH", "/usr/local/bin:/usr/bin:/bin");
        environment["HOME"] = home;
        environment["TMPDIR"] = tmp;
        return environment;
    }
}
