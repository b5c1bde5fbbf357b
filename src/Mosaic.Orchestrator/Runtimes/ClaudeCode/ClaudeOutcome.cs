using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>Why a watchdog ended the process (none when it ended by itself).</summary>
public enum Watchdog { None, Idle, AfterResult }

/// <summary>
/// Turns how the CLI ended into the run's outcome. The result line decides before the exit code does: an API
/// error comes as subtype "success" with is_error true and exit 1, a run that hit its turn limit exits 0 with
/// error_max_turns. Overload and rate limits (429, 5xx, 529) are transient and retried with backoff.
/// </summary>
public static class ClaudeOutcome
{
    private static readonly int[] TransientApiStatuses = [408, 409, 429, 500, 502, 503, 504, 529];

    public static RuntimeResult Classify(ClaudeResult? result, int exitCode, Watchdog watchdog, string? stderrTail, TimeSpan idleTimeout)
    {
        if (watchdog == Watchdog.Idle)
        {
            return RuntimeResult.Failed(FailureReason.AgentStalled,
                $"claude wrote nothing for {idleTimeout.TotalSeconds:0.#} s (CLAUDE_IDLE_TIMEOUT_SECONDS); its process tree was ended");
        }

        if (result is null)
        {
            return exitCode == 0
                ? RuntimeResult.Failed(FailureReason.NoResult, "claude exited without a result line", exitCode)
                : RuntimeResult.Failed(FailureReason.RuntimeFailed,
                    $"claude exited with code {exitCode} without a result line{Tail(stderrTail)}", exitCode);
        }

        if (!result.Succeeded)
        {
            var said = Said(result.Text);
            return result switch
            {
                { Subtype: "error_max_turns" } => RuntimeResult.Failed(FailureReason.MaxTurns,
                    $"claude stopped at its turn limit after {result.NumTurns} turns (CLAUDE_MAX_TURNS)", exitCode),
                { Subtype: "error_max_budget_usd" } => RuntimeResult.Failed(FailureReason.MaxBudget,
                    $"claude stopped at its budget after spending ${result.TotalCostUsd:0.####} (CLAUDE_MAX_BUDGET_USD)", exitCode),
                { ApiErrorStatus: { } status } when TransientApiStatuses.Contains(status) => RuntimeResult.Failed(FailureReason.ModelApiUnavailable, $"the model API answered {status}{said}", exitCode),
                { ApiErrorStatus: 401 or 403 } => RuntimeResult.Failed(FailureReason.ModelApiAuth,
                    $"the model API refused the key ({result.ApiErrorStatus}); check CLAUDE_API_KEY{said}", exitCode),
                { ApiErrorStatus: { } status } => RuntimeResult.Failed(FailureReason.ModelApiError,
                    $"the model API answered {status}{said}", exitCode),
                _ => RuntimeResult.Failed(FailureReason.RuntimeFailed,
                    $"claude reported an error (subtype {result.Subtype ?? "none"}){said}", exitCode),
            };
        }

        // A watchdog ended a process that lingered after a successful result: the work is done, the exit code is ours.
        if (exitCode != 0 && watchdog != Watchdog.AfterResult)
        {
            return RuntimeResult.Failed(FailureReason.RuntimeFailed,
                $"claude reported success but exited with code {exitCode}{Tail(stderrTail)}", exitCode);
        }

        return RuntimeResult.Success(watchdog == Watchdog.AfterResult ? 0 : exitCode);
    }

    private static string Said(string? text) => string.IsNullOrWhiteSpace(text) ? "" : ": " + Cap(text, 400);

    private static string Tail(string? stderr) => string.IsNullOrWhiteSpace(stderr) ? "" : "; stderr: " + Cap(stderr, 400);

    private static string Cap(string text, int max) => text.Length <= max ? text.Trim() : text[..max].Trim() + "...";
}
