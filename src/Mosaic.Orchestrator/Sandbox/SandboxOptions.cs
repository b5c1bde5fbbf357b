using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>The Docker sandbox's settings (SPEC "Sandbox"); every one of them is in the README's settings table.</summary>
public sealed class SandboxOptions
{
    /// <summary>Every agent attempt, gate command and AI review runs in a container of its own; never unsandboxed instead.</summary>
    [ConfigurationKeyName("SANDBOX_ENABLED")]
    public bool Enabled { get; set; }

    [ConfigurationKeyName("DOCKER_SOCKET"), Required]
    public string DockerSocket { get; set; } = "/var/run/docker.sock";

    [ConfigurationKeyName("SANDBOX_IMAGE"), Required]
    public string Image { get; set; } = "mosaic-agent:latest";

    /// <summary>The uid (and gid) agents run as inside: never root, never the service's own.</summary>
    [ConfigurationKeyName("SANDBOX_USER"), Range(1, 2_147_483_647)]
    public int User { get; set; } = 10001;

    /// <summary>Docker's size syntax: a number with an optional k, m or g (2g).</summary>
    [ConfigurationKeyName("SANDBOX_MEMORY"), Required]
    public string Memory { get; set; } = "2g";

    [ConfigurationKeyName("SANDBOX_CPUS"), Range(0.01, 1024)]
    public double Cpus { get; set; } = 2;

    [ConfigurationKeyName("SANDBOX_PIDS"), Range(16, 1_000_000)]
    public int Pids { get; set; } = 512;

    /// <summary>egress: out only through the service's proxy, to the model host and SANDBOX_EGRESS_ALLOW; none: nothing at all.</summary>
    [ConfigurationKeyName("SANDBOX_NETWORK"), Required]
    public string Network { get; set; } = "egress";

    [ConfigurationKeyName("SANDBOX_EGRESS_ALLOW")]
    public string? EgressAllow { get; set; }

    [ConfigurationKeyName("SANDBOX_STOP_TIMEOUT_SECONDS"), Range(0, 3600)]
    public int StopTimeoutSeconds { get; set; } = 10;

    public bool EgressOn => Network == "egress";

    public long MemoryBytes => ParseSize(Memory) ?? 0;

    /// <summary>Docker's memory size syntax; null when it is not one.</summary>
    public static long? ParseSize(string text)
    {
        text = text.Trim().ToLowerInvariant();
        var unit = text.Length > 0 ? text[^1] : ' ';
        var (digits, scale) = unit switch
        {
            'b' => (text[..^1], 1L),
            'k' => (text[..^1], 1L << 10),
            'm' => (text[..^1], 1L << 20),
            'g' => (text[..^1], 1L << 30),
            _ => (text, 1L),
        };
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0 && number <= long.MaxValue / scale
            ? number * scale
            : null;
    }
}

public sealed class SandboxOptionsValidator : IValidateOptions<SandboxOptions>
{
    public static readonly string[] Networks = ["egress", "none"];

    /// <summary>Docker refuses less; a container that small could not start a shell anyway.</summary>
    private const long MinimumMemory = 6L << 20;

    public ValidateOptionsResult Validate(string? name, SandboxOptions options)
    {
        var failures = new List<string>();
        if (options.MemoryBytes < MinimumMemory)
        {
            failures.Add($"SANDBOX_MEMORY '{options.Memory}' is not a size of at least 6m (a number with k, m or g, e.g. 2g).");
        }

        if (!Networks.Contains(options.Network))
        {
            failures.Add($"SANDBOX_NETWORK '{options.Network}' is unknown; use one of: {string.Join(", ", Networks)}.");
        }

        if (!EgressRules.TryParse(options.EgressAllow, null, out _, out var egressProblem))
        {
            failures.Add(egressProblem);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
