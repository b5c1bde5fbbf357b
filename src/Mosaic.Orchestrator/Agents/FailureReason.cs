using System.Reflection;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Why an attempt ended badly, with its policy: <see cref="Transient"/> failures go back to the queue with backoff
/// (the agent keeps its status); the others fail the agent at once. <see cref="Fixable"/> failures (a gate that said no)
/// first send the agent back to fix its work. <see cref="Code"/> is the record's machine-readable `reason`. Every code
/// the service can write is listed here (a test checks the README against <see cref="Known"/>).
/// </summary>
public sealed record FailureReason(string Code, bool Transient = false, bool Fixable = false)
{
    public static readonly FailureReason Killed = new("killed");
    public static readonly FailureReason RuntimeFailed = new("runtime-failed");
    public static readonly FailureReason RuntimeTransient = new("runtime-transient", Transient: true);
    public static readonly FailureReason RuntimeUnavailable = new("runtime-unavailable");
    public static readonly FailureReason Timeout = new("timeout");
    public static readonly FailureReason AttemptsExhausted = new("attempts-exhausted");
    public static readonly FailureReason LeaseExpired = new("lease-expired", Transient: true);
    public static readonly FailureReason LeaseLost = new("lease-lost", Transient: true);
    public static readonly FailureReason OrchestratorRestart = new("orchestrator-restart", Transient: true);

    /// <summary>Our own graceful stop: requeued without spending an attempt.</summary>
    public static readonly FailureReason Shutdown = new("shutdown", Transient: true);
    public static readonly FailureReason NoChanges = new("no-changes");
    public static readonly FailureReason Conflict = new("conflict");
    public static readonly FailureReason PushRejected = new("push-rejected");
    public static readonly FailureReason BadRepository = new("bad-repository");
    public static readonly FailureReason GitNetwork = new("git-network", Transient: true);
    public static readonly FailureReason GitTimeout = new("git-timeout", Transient: true);
    public static readonly FailureReason GitFailed = new("git-failed");
    public static readonly FailureReason BadBranchTemplate = new("bad-branch-template");
    public static readonly FailureReason InternalError = new("internal-error");
    public static readonly FailureReason NoResult = new("no-result");
    public static readonly FailureReason MaxTurns = new("max-turns");
    public static readonly FailureReason MaxBudget = new("max-budget");
    public static readonly FailureReason ModelApiUnavailable = new("model-api-unavailable", Transient: true);
    public static readonly FailureReason ModelApiAuth = new("model-api-auth");
    public static readonly FailureReason ModelApiError = new("model-api-error");
    public static readonly FailureReason AgentStalled = new("agent-stalled", Transient: true);
    public static readonly FailureReason SecretsDetected = new("secrets-detected");

    /// <summary>The sandbox's memory limit (SANDBOX_MEMORY) ended the agent or a gate command.</summary>
    public static readonly FailureReason SandboxOom = new("sandbox-oom");

    /// <summary>SANDBOX_ENABLED, but the engine or the image is not there: the attempt never runs unsandboxed instead.</summary>
    public static readonly FailureReason SandboxUnavailable = new("sandbox-unavailable");

    /// <summary>The model gateway refused a call because AGENT_MAX_COST_USD, TASK_MAX_COST_USD or DAILY_MAX_COST_USD was spent.</summary>
    public static readonly FailureReason BudgetExceeded = new("budget-exceeded");

    /// <summary>The model API rate-limited the account: retried when the limit resets, without spending an attempt.</summary>
    public static readonly FailureReason RateLimited = new("rate-limited", Transient: true);

    /// <summary>The store did not answer during the attempt (Valkey restarting, say): the task goes back to the queue.</summary>
    public static readonly FailureReason StoreUnavailable = new("store-unavailable", Transient: true);

    /// <summary>DATA_DIR fell below DISK_MIN_FREE_MB while the agent ran and it used the most space: not retried, it would fill the disk again.</summary>
    public static readonly FailureReason DiskFull = new("disk-full");

    /// <summary>An emergency stop refuses every push until the queue is resumed.</summary>
    public static readonly FailureReason EmergencyStop = new("emergency-stop");

    /// <summary>A gate said no: the agent may fix it, unless the gate's own configuration is what is broken.</summary>
    public static FailureReason GateFailed(string gate, bool fixable = true) => new($"{GateFailedPrefix}{gate}", Fixable: fixable);

    /// <summary>A gate could not judge for a passing reason (the model overloaded during the AI review): retried, no fix run spent.</summary>
    public static FailureReason GateUnavailable(string gate) => new($"{GateUnavailablePrefix}{gate}", Transient: true);

    public const string GateFailedPrefix = "gate-failed:";
    public const string GateUnavailablePrefix = "gate-unavailable:";

    /// <summary>Every fixed code, and the two families written as <c>gate-failed:&lt;gate&gt;</c> and <c>gate-unavailable:&lt;gate&gt;</c>.</summary>
    public static IReadOnlyList<string> Known { get; } =
    [
        .. typeof(FailureReason).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(FailureReason))
            .Select(f => ((FailureReason)f.GetValue(null)!).Code),
        GateFailedPrefix + "<gate>",
        GateUnavailablePrefix + "<gate>",
    ];
}

/// <summary>How an attempt failed: the reason with its policy, a message for people, and the agent's exit code if it had one.</summary>
public sealed record Failure(FailureReason Reason, string Message, int? ExitCode = null)
{
    /// <summary>When set, the retry is due then and spends no attempt (the failure came from outside the agent: a rate limit).</summary>
    public DateTimeOffset? RetryAt { get; init; }

    public string Code => Reason.Code;
    public bool Transient => Reason.Transient;
}

/// <summary>A step of an attempt could not go on; the failure says whether a retry can help.</summary>
public class AttemptFailedException(FailureReason reason, string message, DateTimeOffset? retryAt = null) : Exception(message)
{
    public FailureReason Reason { get; } = reason;

    public bool Transient => Reason.Transient;

    public Failure ToFailure() => new(Reason, Message) { RetryAt = retryAt };
}
