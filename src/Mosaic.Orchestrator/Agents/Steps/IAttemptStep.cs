namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>Where the attempt goes after a step.</summary>
public enum StepResult
{
    /// <summary>On to the next step.</summary>
    Next,

    /// <summary>The attempt is done and succeeded; later steps have nothing to do (a reviewer that changed nothing).</summary>
    Done,

    /// <summary>Back to the agent's run with the attempt's new prompt (a fix after a failing gate).</summary>
    RunAgain,
}

/// <summary>
/// One step of an attempt with one job. A step that cannot go on throws <see cref="AttemptFailedException"/>, whose
/// reason carries the policy (retry with backoff, or fail the agent); everything a step learns goes on the record
/// through the attempt.
/// </summary>
public interface IAttemptStep
{
    Task<StepResult> RunAsync(LeasedAttempt attempt, CancellationToken cancellationToken);
}
