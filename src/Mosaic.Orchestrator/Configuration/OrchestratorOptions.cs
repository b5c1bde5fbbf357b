using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>
/// Every setting, bound from the flat names of SPEC (environment variables, appsettings.json or
/// --NAME=value on the command line). The README's settings table lists each one.
/// </summary>
public sealed class OrchestratorOptions
{
    [ConfigurationKeyName("ORCHESTRATOR_PORT"), Range(0, 65535)]
    public int Port { get; set; } = 3001;

    [ConfigurationKeyName("ORCHESTRATOR_HOST"), Required]
    public string Host { get; set; } = "127.0.0.1";

    [ConfigurationKeyName("ORCHESTRATOR_API_KEY")]
    public string? ApiKey { get; set; }

    [ConfigurationKeyName("DATA_DIR"), Required]
    public string DataDir { get; set; } = "./data";

    [ConfigurationKeyName("STORAGE_BACKEND"), Required]
    public string StorageBackend { get; set; } = "embedded";

    /// <summary>Names this node in lease owners; unset = the machine name (with valkey: machine name and port, see <see cref="ResolvedNodeId"/>).</summary>
    [ConfigurationKeyName("NODE_ID")]
    public string? NodeId { get; set; }

    [ConfigurationKeyName("VALKEY_HOST"), Required]
    public string ValkeyHost { get; set; } = "127.0.0.1";

    [ConfigurationKeyName("VALKEY_PORT"), Range(1, 65535)]
    public int ValkeyPort { get; set; } = 6379;

    [ConfigurationKeyName("VALKEY_USERNAME")]
    public string? ValkeyUsername { get; set; }

    [ConfigurationKeyName("VALKEY_PASSWORD")]
    public string? ValkeyPassword { get; set; }

    [ConfigurationKeyName("VALKEY_DB"), Range(0, 10000)]
    public int ValkeyDb { get; set; }

    [ConfigurationKeyName("VALKEY_TLS")]
    public bool ValkeyTls { get; set; }

    /// <summary>First part of every key and channel name: "orchestrator" gives SPEC's orchestrator:agent:{id}.</summary>
    [ConfigurationKeyName("VALKEY_KEY_PREFIX"), Required]
    public string ValkeyKeyPrefix { get; set; } = "orchestrator";

    /// <summary>Time limit of every Valkey command and of the connect attempt.</summary>
    [ConfigurationKeyName("VALKEY_TIMEOUT_MS"), Range(100, 600_000)]
    public int ValkeyTimeoutMs { get; set; } = 5000;

    /// <summary>Events kept in the history for Last-Event-ID replay (trimmed approximately).</summary>
    [ConfigurationKeyName("VALKEY_EVENTS_MAX_LENGTH"), Range(1000, 100_000_000)]
    public long ValkeyEventsMaxLength { get; set; } = 100_000;

    /// <summary>How long a kill waits for the instance running the agent to confirm the stop.</summary>
    [ConfigurationKeyName("KILL_RELAY_TIMEOUT_SECONDS"), Range(0.1, 300)]
    public double KillRelayTimeoutSeconds { get; set; } = 3;

    [ConfigurationKeyName("AGENT_RUNTIME"), Required]
    public string AgentRuntime { get; set; } = "claude-code";

    [ConfigurationKeyName("AGENT_COMMAND")]
    public string? AgentCommand { get; set; }

    /// <summary>Comma-separated names of extra environment variables handed to the agent process.</summary>
    [ConfigurationKeyName("AGENT_ENV_PASSTHROUGH")]
    public string? AgentEnvPassthrough { get; set; }

    /// <summary>A folder with worker.md, reviewer.md and/or tester.md replacing the built-in prompt templates.</summary>
    [ConfigurationKeyName("PROMPT_TEMPLATE_DIR")]
    public string? PromptTemplateDir { get; set; }

    [ConfigurationKeyName("AGENT_TIMEOUT_MINUTES"), Range(1, 10080)]
    public int AgentTimeoutMinutes { get; set; } = 120;

    [ConfigurationKeyName("AGENT_LOG_MAX_BYTES"), Range(1024, long.MaxValue)]
    public long AgentLogMaxBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Scheduling niceness of agent processes (0-19): agents that compile and test must not starve the API and the kill path.</summary>
    [ConfigurationKeyName("AGENT_NICE"), Range(0, 19)]
    public int AgentNice { get; set; } = 10;

    [ConfigurationKeyName("KILL_GRACE_SECONDS"), Range(0, 3600)]
    public double KillGraceSeconds { get; set; } = 10;

    [ConfigurationKeyName("MAX_CONCURRENT_AGENTS"), Range(1, 10000)]
    public int MaxConcurrentAgents { get; set; } = 20;

    [ConfigurationKeyName("MAX_QUEUED_TASKS"), Range(1, 10_000_000)]
    public long MaxQueuedTasks { get; set; } = 10000;

    [ConfigurationKeyName("QUEUE_FULL_RETRY_AFTER_SECONDS"), Range(1, 86400)]
    public int QueueFullRetryAfterSeconds { get; set; } = 30;

    [ConfigurationKeyName("TASK_MAX_ATTEMPTS"), Range(1, 100)]
    public int TaskMaxAttempts { get; set; } = 3;

    [ConfigurationKeyName("RETRY_BASE_DELAY_SECONDS"), Range(0, 86400)]
    public double RetryBaseDelaySeconds { get; set; } = 5;

    [ConfigurationKeyName("RETRY_MAX_DELAY_SECONDS"), Range(0, 604800)]
    public double RetryMaxDelaySeconds { get; set; } = 300;

    [ConfigurationKeyName("LEASE_DURATION_SECONDS"), Range(1, 3600)]
    public double LeaseDurationSeconds { get; set; } = 30;

    [ConfigurationKeyName("QUEUE_POLL_INTERVAL_MS"), Range(10, 60000)]
    public int QueuePollIntervalMs { get; set; } = 1000;

    [ConfigurationKeyName("MAX_REQUEST_BODY_BYTES"), Range(1024, 100 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>The body limit of POST /agents/spawn/batch only (up to 1,000 spawn bodies); every other route keeps MAX_REQUEST_BODY_BYTES.</summary>
    [ConfigurationKeyName("MAX_BATCH_BODY_BYTES"), Range(1024, 100 * 1024 * 1024)]
    public long MaxBatchBodyBytes { get; set; } = 4 * 1024 * 1024;

    [ConfigurationKeyName("RATE_LIMIT_WRITES_PER_SECOND"), Range(1, 1_000_000)]
    public int RateLimitWritesPerSecond { get; set; } = 20;

    [ConfigurationKeyName("RATE_LIMIT_WRITES_BURST"), Range(1, 1_000_000)]
    public int RateLimitWritesBurst { get; set; } = 100;

    [ConfigurationKeyName("RATE_LIMIT_READS_PER_SECOND"), Range(1, 1_000_000)]
    public int RateLimitReadsPerSecond { get; set; } = 200;

    [ConfigurationKeyName("RATE_LIMIT_READS_BURST"), Range(1, 1_000_000)]
    public int RateLimitReadsBurst { get; set; } = 1000;

    [ConfigurationKeyName("AUTH_FAILURES_PER_MINUTE"), Range(1, 1_000_000)]
    public int AuthFailuresPerMinute { get; set; } = 10;

    [ConfigurationKeyName("EVENT_STREAMS_PER_CALLER"), Range(1, 100_000)]
    public int EventStreamsPerCaller { get; set; } = 16;

    [ConfigurationKeyName("ALLOW_LOCAL_REPOSITORIES")]
    public bool AllowLocalRepositories { get; set; }

    [ConfigurationKeyName("GIT_TIMEOUT_SECONDS"), Range(1, 86400)]
    public int GitTimeoutSeconds { get; set; } = 300;

    [ConfigurationKeyName("GIT_AUTHOR_NAME"), Required]
    public string GitAuthorName { get; set; } = "Mosaic Orchestrator";

    [ConfigurationKeyName("GIT_AUTHOR_EMAIL"), Required]
    public string GitAuthorEmail { get; set; } = "orchestrator@mosaic.local";

    /// <summary>Agents reach the model through the service (a per-run credential; the real key never enters the agent).</summary>
    [ConfigurationKeyName("MODEL_GATEWAY")]
    public bool ModelGateway { get; set; } = true;

    /// <summary>An attempt that ends badly and changed something leaves its work on a WIP branch (after a secret scan).</summary>
    [ConfigurationKeyName("WIP_ON_ABNORMAL_END")]
    public bool WipOnAbnormalEnd { get; set; } = true;

    /// <summary>The WIP branch: {branch} (the agent's own branch), and AGENT_BRANCH_TEMPLATE's placeholders.</summary>
    [ConfigurationKeyName("WIP_BRANCH_TEMPLATE"), Required]
    public string WipBranchTemplate { get; set; } = "wip/{branch}";

    // --- Faults and resources (issue 18): the disk floor and reserve ---

    /// <summary>
    /// Below this much free space in DATA_DIR (MB) no agent starts and readiness fails; an agent running when it is
    /// crossed (the one using the most space) ends with disk-full. 0 turns the floor off.
    /// </summary>
    [ConfigurationKeyName("DISK_MIN_FREE_MB"), Range(0, 10_000_000)]
    public int DiskMinFreeMb { get; set; } = 100;

    /// <summary>Space (MB) kept allocated in DATA_DIR and given up when the disk is full, so the store can still write ends, kills and its own start.</summary>
    [ConfigurationKeyName("DISK_RESERVE_MB"), Range(0, 100_000)]
    public int DiskReserveMb { get; set; } = 8;

    // --- end of faults and resources ---

    /// <summary>Ended agents' records, logs and WIP branches, and events, older than this are removed; 0 keeps everything.</summary>
    [ConfigurationKeyName("RETENTION_DAYS"), Range(0, 36500)]
    public int RetentionDays { get; set; } = 30;

    /// <summary>The agent's branch: {taskId}, {agentId}, {shortId} (8 hex of the agent id's random part), {agentType}.</summary>
    [ConfigurationKeyName("AGENT_BRANCH_TEMPLATE"), Required]
    public string AgentBranchTemplate { get; set; } = "agent/{taskId}-{shortId}";

    /// <summary>A rules file for the pipeline's secret scan (same format as `scan --rules`), over the embedded defaults.</summary>
    [ConfigurationKeyName("SECRET_RULES_FILE")]
    public string? SecretRulesFile { get; set; }

    // --- Model gateway: prices, budgets, rate-limit parking (ModelGateway/) ---

    /// <summary>Price per model (USD per million tokens): a JSON file's path, or the JSON itself; over the built-in table.</summary>
    [ConfigurationKeyName("MODEL_PRICES")]
    public string? ModelPrices { get; set; }

    /// <summary>What one agent may spend on the model, all its attempts and fix runs together (metered by the gateway).</summary>
    [ConfigurationKeyName("AGENT_MAX_COST_USD"), Range(0.000001, 1_000_000)]
    public double? AgentMaxCostUsd { get; set; }

    /// <summary>What all the agents of one task may spend together.</summary>
    [ConfigurationKeyName("TASK_MAX_COST_USD"), Range(0.000001, 1_000_000)]
    public double? TaskMaxCostUsd { get; set; }

    /// <summary>What the whole service (with valkey: the whole cluster) may spend per UTC day.</summary>
    [ConfigurationKeyName("DAILY_MAX_COST_USD"), Range(0.000001, 100_000_000)]
    public double? DailyMaxCostUsd { get; set; }

    /// <summary>An upstream 429/529 with a reset time parks the account: no task is leased until then, and the agents it ended retry then.</summary>
    [ConfigurationKeyName("RATE_LIMIT_PARKING")]
    public bool RateLimitParking { get; set; } = true;

    /// <summary>A reset further away than this is not waited for: the agent's failure takes the ordinary retry path.</summary>
    [ConfigurationKeyName("RATE_LIMIT_MAX_WAIT_MINUTES"), Range(0, 10080)]
    public double RateLimitMaxWaitMinutes { get; set; } = 60;

    public bool HasBudgets => AgentMaxCostUsd is not null || TaskMaxCostUsd is not null || DailyMaxCostUsd is not null;

    // --- end of the model gateway's block ---

    public TimeSpan KillGrace => TimeSpan.FromSeconds(KillGraceSeconds);

    public bool UsesValkey => StorageBackend == "valkey";

    /// <summary>
    /// NODE_ID, or the machine name; with valkey the default adds the HTTP port, so several instances on one machine
    /// get distinct, restart-stable names (one live instance per node name is enforced through Valkey).
    /// </summary>
    public string ResolvedNodeId => !string.IsNullOrWhiteSpace(NodeId) ? NodeId
        : UsesValkey ? $"{Environment.MachineName}-{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
        : Environment.MachineName;

    public TimeSpan LeaseDuration => TimeSpan.FromSeconds(LeaseDurationSeconds);

    public string FullDataDir => Path.GetFullPath(DataDir);

    public bool BindsLoopbackOnly =>
        string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(Host, out var address) && IPAddress.IsLoopback(address));

    public bool HasApiKey => !string.IsNullOrEmpty(ApiKey);
}

/// <summary>Checks that span settings: the open-API rule of SPEC, known backends and runtimes.</summary>
public sealed class OrchestratorOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<OrchestratorOptions>
{
    public static readonly string[] Runtimes = ["claude-code", "command"];

    public static readonly string[] Backends = ["embedded", "valkey"];

    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, OrchestratorOptions options)
    {
        var failures = new List<string>();
        if (!string.Equals(options.Host, "localhost", StringComparison.OrdinalIgnoreCase) && !IPAddress.TryParse(options.Host, out _))
        {
            failures.Add($"ORCHESTRATOR_HOST '{options.Host}' is neither localhost nor an IP address.");
        }
        else if (!options.HasApiKey && !options.BindsLoopbackOnly)
        {
            failures.Add($"ORCHESTRATOR_HOST is {options.Host}, which is not loopback, and ORCHESTRATOR_API_KEY is not set: " +
                "refusing to start with the API open to the network. Set ORCHESTRATOR_API_KEY or bind to 127.0.0.1.");
        }

        if (!Backends.Contains(options.StorageBackend))
        {
            failures.Add($"STORAGE_BACKEND '{options.StorageBackend}' is unknown; use one of: {string.Join(", ", Backends)}.");
        }

        if (options.ValkeyKeyPrefix.Length == 0 || options.ValkeyKeyPrefix.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            failures.Add("VALKEY_KEY_PREFIX must be non-empty, without whitespace or control characters.");
        }

        if (options.NodeId is { } node && (node.Contains('/', StringComparison.Ordinal) || node.Any(char.IsControl)))
        {
            failures.Add("NODE_ID must not contain '/' or control characters.");
        }

        if (!Runtimes.Contains(options.AgentRuntime))
        {
            failures.Add($"AGENT_RUNTIME '{options.AgentRuntime}' is unknown; use one of: {string.Join(", ", Runtimes)}.");
        }

        failures.AddRange(Mosaic.Orchestrator.Workspaces.BranchTemplate.Check(options.AgentBranchTemplate));
        failures.AddRange(Mosaic.Orchestrator.Workspaces.BranchTemplate.CheckWip(options.WipBranchTemplate));

        // Budgets are enforced by the gateway, which alone sees every token: without it a budget would be a promise nobody keeps.
        if (options.HasBudgets && !options.ModelGateway)
        {
            failures.Add("AGENT_MAX_COST_USD, TASK_MAX_COST_USD and DAILY_MAX_COST_USD need the model gateway (MODEL_GATEWAY=true), which meters every call; refusing to start with budgets nobody enforces.");
        }

        if (Mosaic.Orchestrator.ModelGateway.ModelPrices.TryLoad(options.ModelPrices, out _) is { } pricesProblem)
        {
            failures.Add($"MODEL_PRICES: {pricesProblem}");
        }

        if (options.RetryMaxDelaySeconds < options.RetryBaseDelaySeconds)
        {
            failures.Add("RETRY_MAX_DELAY_SECONDS must be at least RETRY_BASE_DELAY_SECONDS.");
        }

        if (options.SecretRulesFile is { Length: > 0 } rulesFile)
        {
            try
            {
                Mosaic.Orchestrator.Secrets.SecretRules.Load(rulesFile);
            }
            catch (Mosaic.Orchestrator.Secrets.SecretRulesException ex)
            {
                failures.Add($"SECRET_RULES_FILE: {ex.Message}");
            }
        }

        Mosaic.Orchestrator.Runtimes.PromptTemplates.Load(options.PromptTemplateDir, out var templateProblems);
        failures.AddRange(templateProblems);

        if (options.RateLimitWritesBurst < 1 || options.RateLimitReadsBurst < 1)
        {
            failures.Add("rate-limit bursts must be at least 1.");
        }

        return failures.Count == 0
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Success
            : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}
