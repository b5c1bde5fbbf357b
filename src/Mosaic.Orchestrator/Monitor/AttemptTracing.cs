using System.Diagnostics;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Agents.Steps;

namespace Mosaic.Orchestrator.Monitor;

/// <summary>
/// Spans of an attempt: one "attempt" span with a child per step (runtime-check, prepare, run-agent, commit,
/// secret-scan, gates, conflict, push; a fix round repeats run-agent to gates). Each carries the agent, its task, the
/// attempt number and the step's outcome: next, done, run-again, or failed with the failure's reason. Exported with
/// OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set; without a listener, starting a span costs a null check.
/// </summary>
public static class AttemptTracing
{
    public const string SourceName = "Mosaic.Orchestrator";
    public const string AgentIdTag = "mosaic.agent_id";
    public const string TaskIdTag = "mosaic.task_id";
    public const string StepTag = "mosaic.step";
    public const string OutcomeTag = "mosaic.outcome";
    public const string ReasonTag = "mosaic.reason";

    public static readonly ActivitySource Source = new(SourceName, ServiceVersionText());

    /// <summary>The span of a whole attempt (null when nothing listens).</summary>
    public static Activity? StartAttempt(LeasedAttempt attempt) => Start("attempt", attempt);

    /// <summary>The span of one step (null when nothing listens).</summary>
    public static Activity? StartStep(IAttemptStep step, LeasedAttempt attempt) => Start(StepName(step), attempt);

    /// <summary>runtime-check, prepare, run-agent, ...: the step's type name without "Step", in kebab case.</summary>
    public static string StepName(IAttemptStep step)
    {
        var name = step.GetType().Name;
        name = name.EndsWith("Step", StringComparison.Ordinal) ? name[..^4] : name;
        return string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));
    }

    public static void Ended(Activity? activity, StepResult result) =>
        activity?.SetTag(OutcomeTag, result switch { StepResult.Done => "done", StepResult.RunAgain => "run-again", _ => "next" });

    public static void Succeeded(Activity? activity) => activity?.SetTag(OutcomeTag, "succeeded");

    /// <summary>Tags a span with how its step threw; always false, so it serves as an exception filter that catches nothing.</summary>
    public static bool Threw(Activity? activity, Exception ex)
    {
        if (activity is null)
        {
            return false;
        }

        var (outcome, reason) = ex switch
        {
            AttemptFailedException failed => ("failed", failed.Reason.Code),
            OperationCanceledException => ("stopped", null),
            _ => ("crashed", FailureReason.InternalError.Code),
        };
        activity.SetTag(OutcomeTag, outcome);
        activity.SetTag(ReasonTag, reason);
        activity.SetStatus(outcome == "stopped" ? ActivityStatusCode.Unset : ActivityStatusCode.Error, ex.Message);
        return false;
    }

    private static Activity? Start(string name, LeasedAttempt attempt)
    {
        var activity = Source.StartActivity(name, ActivityKind.Internal);
        if (activity is not null)
        {
            activity.SetTag(AgentIdTag, attempt.AgentId.ToString());
            activity.SetTag(TaskIdTag, attempt.Agent.TaskId);
            activity.SetTag(StepTag, name);
            activity.SetTag("mosaic.attempt", attempt.Agent.Attempt);
        }

        return activity;
    }

    private static string ServiceVersionText() => Configuration.ServiceVersion.Text;
}
