using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Gates;
using Mosaic.Orchestrator.Runtimes;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>
/// The pre-commit gates, then the post-commit ones, on the committed branch (so they judge exactly what would be
/// pushed); each verdict goes on the record as it comes. A gate the agent can fix sends it back to fix its work,
/// GATE_FIX_ATTEMPTS times; a gate that could not judge for a passing reason is retried with backoff.
/// </summary>
public sealed class GatesStep(IGateJudge judge, PromptTemplates prompts, IOptions<GateOptions> options) : IAttemptStep
{
    private static readonly string[] Phases = [GateCatalog.PreCommit, GateCatalog.PostCommit];

    public async Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken)
    {
        var request = new GateRequest(attempt.Agent, attempt.Round, attempt.Folder, attempt.RecordProcessAsync);
        foreach (var phase in Phases)
        {
            await foreach (var verdict in judge.JudgeAsync(request, phase, cancellationToken))
            {
                if (verdict.Run is { } run)
                {
                    await attempt.RecordRunAsync(run);
                }

                await attempt.RecordGateAsync(verdict.Result);
                if (verdict.Failure is { } failure)
                {
                    return Rejected(attempt, verdict.Result, failure, verdict.RetryAt);
                }
            }
        }

        return StepResult.Next;
    }

    private StepResult Rejected(LeasedAttempt attempt, GateResult gate, FailureReason failure, DateTimeOffset? retryAt)
    {
        if (failure.Transient)
        {
            throw new AttemptFailedException(failure, $"the {gate.Gate} gate could not judge: {gate.Message}", retryAt);
        }

        if (!failure.Fixable || attempt.Round >= options.Value.GateFixAttempts)
        {
            var tries = attempt.Round == 0 ? "" : $" after {attempt.Round} fix run(s)";
            throw new AttemptFailedException(failure with { Fixable = false }, $"the {gate.Gate} gate failed{tries}: {gate.Message}");
        }

        attempt.NextRound(FixPrompt(prompts.Render(attempt.Agent), gate));
        return StepResult.RunAgain;
    }

    /// <summary>The task again (the agent must not "fix" a check by dropping the feature), then what the gate said.</summary>
    private static string FixPrompt(string task, GateResult gate)
    {
        var output = gate.OutputTail is null ? "" : "Its output ended with:\n```\n" + gate.OutputTail.TrimEnd() + "\n```\n";
        return task.TrimEnd() + "\n\n" +
            $"Your work on this task was committed, but the quality gate \"{gate.Gate}\" rejected it: {gate.Message}\n{output}" +
            "Fix the cause in this working directory (do not weaken, skip or delete the check, and keep the work items done) and commit your changes.\n";
    }
}
