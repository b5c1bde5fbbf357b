using System.Collections;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>
/// Settings that look meant for the service but are not one of its names: a misspelt name is otherwise silently
/// ignored, and the service runs on the default the operator meant to change. The environment is full of other
/// programs' variables, so a variable is named only when it looks like ours (our prefixes, MOSAIC_, or within two
/// edits of a setting); an unknown --NAME on the command line is always named: it can only have been meant for us.
/// </summary>
public static class UnknownSettings
{
    /// <summary>What agents get in their environment (a service started from an agent's shell inherits them) and
    /// what the CLI client will read: MOSAIC_ names that are not settings of the service, and not typos either.</summary>
    public static readonly IReadOnlyList<string> OtherMosaicNames =
    [
        "MOSAIC_AGENT_ID", "MOSAIC_TASK_ID", "MOSAIC_AGENT_TYPE", "MOSAIC_ATTEMPT", "MOSAIC_PROMPT", "MOSAIC_PROMPT_FILE",
        "MOSAIC_MODEL_BASE_URL", "MOSAIC_MODEL_API_KEY",
        "MOSAIC_GATE", "MOSAIC_URL", "MOSAIC_API_KEY",
    ];

    /// <summary>Prefixes of our settings that other software rarely uses: anything unknown under them is a typo.</summary>
    private static readonly string[] OurPrefixes =
    [
        "ORCHESTRATOR_", "CLAUDE_", "AGENT_", "GATE_", "GATES_", "VALKEY_", "SANDBOX_", "RATE_LIMIT_", "COORDINATOR_",
        "AI_REVIEW_", "KILL_RELAY_", "LEASE_", "RETRY_", "QUEUE_",
    ];

    /// <summary>Other programs' variables under our prefixes or within two edits of a setting.</summary>
    private static readonly string[] NotOurs =
    [
        // The Claude Code CLI's own (CLAUDE_CODE_ENTRYPOINT, ...): set where the service is started from Claude Code.
        "CLAUDE_CODE_", "CLAUDE_CONFIG_DIR", "CLAUDE_BASH_", "CLAUDE_ENV_FILE",
        "ASPNETCORE_", "DOTNET_",
        "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE",
    ];

    /// <summary>Names people set from habit with other tools, and the setting that does what they meant.</summary>
    private static readonly Dictionary<string, string> Habits = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ANTHROPIC_API_KEY"] = "CLAUDE_API_KEY",
        ["REDIS_HOST"] = "VALKEY_HOST",
        ["REDIS_PORT"] = "VALKEY_PORT",
        ["REDIS_PASSWORD"] = "VALKEY_PASSWORD",
    };

    /// <summary>One warning line (without the program's prefix) for each setting that will be ignored.</summary>
    public static IReadOnlyList<string> Find(IDictionary environment, IReadOnlyList<string> args)
    {
        var warnings = new List<string>();
        var (argumentNames, ignored) = ParseArguments(args);
        var given = new HashSet<string>(environment.Keys.Cast<string>().Concat(argumentNames), StringComparer.OrdinalIgnoreCase);
        foreach (var name in environment.Keys.Cast<string>().Order(StringComparer.Ordinal))
        {
            if (Habits.TryGetValue(name, out var meant))
            {
                if (!given.Contains(meant))
                {
                    warnings.Add($"ignoring {name} (environment): the service reads {meant}");
                }

                continue;
            }

            if (!SettingNames.IsKnown(name) && LooksOurs(name, out var nearest))
            {
                warnings.Add($"ignoring unknown setting {name} (environment){(nearest is null ? "" : $"; did you mean {nearest}?")}");
            }
        }

        foreach (var name in argumentNames.Where(n => !SettingNames.IsKnown(n)))
        {
            var nearest = Nearest(name, Math.Max(2, name.Length / 3));
            warnings.Add($"ignoring unknown setting --{name} (command line){(nearest is null ? "" : $"; did you mean --{nearest}?")}");
        }

        warnings.AddRange(ignored.Select(a => $"ignoring argument '{a}' (command line); settings are given as --NAME=value"));
        return warnings;
    }

    private static bool LooksOurs(string name, out string? nearest)
    {
        nearest = null;
        if (NotOurs.Any(n => name.StartsWith(n, StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        if (name.StartsWith("MOSAIC_", StringComparison.OrdinalIgnoreCase))
        {
            nearest = Nearest(name, 2);
            return !OtherMosaicNames.Contains(name, StringComparer.OrdinalIgnoreCase);
        }

        if (OurPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
        {
            nearest = Nearest(name, Math.Max(2, name.Length / 3));
            return true;
        }

        // Short names are within two edits of too much (HOME, PWD); long ones are not typos of ours by chance.
        nearest = name.Length >= 6 ? Nearest(name, 2) : null;
        return nearest is not null;
    }

    /// <summary>The known setting fewest edits away, if at most <paramref name="maxEdits"/>.</summary>
    private static string? Nearest(string name, int maxEdits)
    {
        string? best = null;
        var bestDistance = maxEdits + 1;
        foreach (var known in SettingNames.All)
        {
            var distance = Distance(name.ToUpperInvariant(), known, bestDistance);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (known, distance);
            }
        }

        return best;
    }

    /// <summary>Levenshtein distance, or at least <paramref name="cutoff"/> when it is that far or more.</summary>
    private static int Distance(string a, string b, int cutoff)
    {
        if (Math.Abs(a.Length - b.Length) >= cutoff)
        {
            return cutoff;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>
    /// The setting names of a serve command line, read as the host's command-line configuration reads it:
    /// --NAME=value, --NAME value, /NAME=value, /NAME value, NAME=value. What it ignores (a word without '=', a
    /// last --NAME without a value) is returned too: it is as lost as a misspelt name.
    /// </summary>
    public static (IReadOnlyList<string> Names, IReadOnlyList<string> Ignored) ParseArguments(IReadOnlyList<string> args)
    {
        var names = new List<string>();
        var ignored = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var prefix = arg.StartsWith("--", StringComparison.Ordinal) ? 2 : arg.StartsWith('/') ? 1 : 0;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > prefix)
            {
                names.Add(arg[prefix..equals]);
            }
            else if (prefix > 0 && arg.Length > prefix && equals < 0 && i + 1 < args.Count)
            {
                names.Add(arg[prefix..]);
                i++;
            }
            else
            {
                ignored.Add(arg);
            }
        }

        return (names, ignored);
    }
}
