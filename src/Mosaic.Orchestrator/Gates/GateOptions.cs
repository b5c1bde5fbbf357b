using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace Mosaic.Orchestrator.Gates;

/// <summary>Settings of the quality gates (flat names, like every other setting).</summary>
public sealed class GateOptions
{
    /// <summary>With it, gates are asked of the Coordinator instead of run here.</summary>
    [ConfigurationKeyName("COORDINATOR_URL")]
    public string? CoordinatorUrl { get; set; }

    [ConfigurationKeyName("COORDINATOR_TIMEOUT_SECONDS"), Range(0.1, 3600)]
    public double CoordinatorTimeoutSeconds { get; set; } = 30;

    [ConfigurationKeyName("YOLO_MODE")]
    public bool YoloMode { get; set; }

    /// <summary>A YAML file with gate commands for every repository (defaults) and per repository URL.</summary>
    [ConfigurationKeyName("GATES_CONFIG")]
    public string? GatesConfig { get; set; }

    /// <summary>The custom profile's gates when the spawn request names none.</summary>
    [ConfigurationKeyName("GATES_CUSTOM")]
    public string? GatesCustom { get; set; }

    [ConfigurationKeyName("GATE_TIMEOUT_SECONDS"), Range(1, 86400)]
    public int GateTimeoutSeconds { get; set; } = 600;

    [ConfigurationKeyName("GATE_FIX_ATTEMPTS"), Range(0, 20)]
    public int GateFixAttempts { get; set; } = 2;

    [ConfigurationKeyName("COVERAGE_THRESHOLD"), Range(0, 100)]
    public double CoverageThreshold { get; set; } = 85;

    [ConfigurationKeyName("AI_REVIEW_MIN_CONFIDENCE"), Range(0, 1)]
    public double AiReviewMinConfidence { get; set; } = 0.9;

    /// <summary>At most 64 KiB: the tail goes into the fix prompt, which travels as one command-line argument.</summary>
    [ConfigurationKeyName("GATE_OUTPUT_TAIL_BYTES"), Range(256, 64 * 1024)]
    public int GateOutputTailBytes { get; set; } = 4096;

    public IReadOnlyList<string> CustomGates =>
        [.. (GatesCustom ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>The gates of the agent's profile, in running order (custom: the spawn request's, else GATES_CUSTOM).</summary>
    public IReadOnlyList<string> GatesOf(Agents.AgentRecord agent) => GateCatalog.For(agent.GateProfile, agent.CustomGates ?? CustomGates);
}

public sealed class GateOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<GateOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, GateOptions options)
    {
        var failures = new List<string>();
        if (options.CoordinatorUrl is { Length: > 0 } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            failures.Add("COORDINATOR_URL must be an absolute http(s) URL.");
        }

        if (GateCatalog.Check(options.CustomGates) is { } problem)
        {
            failures.Add("GATES_CUSTOM: " + problem);
        }

        if (options.GatesConfig is { Length: > 0 } file)
        {
            try
            {
                GatesFile.LoadConfig(File.ReadAllText(file));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or GateConfigException)
            {
                failures.Add($"GATES_CONFIG '{file}': {ex.Message}");
            }
        }

        return failures.Count == 0
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Success
            : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}
