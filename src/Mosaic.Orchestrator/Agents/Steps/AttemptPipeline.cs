using Mosaic.Orchestrator.Monitor;

namespace Mosaic.Orchestrator.Agents.Steps;

/// <summary>
/// An attempt as its steps, in order (composed in <see cref="AgentsSetup"/>): check the runtime, prepare the
/// workspace, run the agent, commit, scan for secrets, judge the gates, check for conflicts, push. A failing gate may
/// send the attempt back to the agent's run; a new capability is a new step in the list.
/// </summary>
public sealed class AttemptPipeline(IEnumerable<IAttemptStep> steps)
{
    private readonly IAttemptStep[] _steps = [.. steps];

    public IReadOnlyList<IAttemptStep> Steps => _steps;

    /// <summary>
    /// Runs the steps; returns when the attempt succeeded, throws when a step failed or the run was stopped. Each step
    /// runs in its own span under the attempt's (<see cref="AttemptTracing"/>).
    /// </summary>
    public async Task RunAsync(LeasedAttempt attempt)
    {
        using var span = AttemptTracing.StartAttempt(attempt);
        try
        {
            await RunStepsAsync(attempt);
            AttemptTracing.Succeeded(span);
        }
        catch (Exception ex) when (AttemptTracing.Threw(span, ex))
        {
            throw; // not reached: the filter only tags the span
        }
    }

    private async Task RunStepsAsync(LeasedAttempt attempt)
    {
        var runStep = Array.FindIndex(_steps, s => s is RunAgentStep);
        for (var i = 0; i < _steps.Length;)
        {
            StepResult result;
            using (var span = AttemptTracing.StartStep(_steps[i], attempt))
            {
                try
                {
                    result = await _steps[i].RunAsync(attempt, attempt.Token);
                }
                catch (Exception ex) when (AttemptTracing.Threw(span, ex))
                {
                    throw; // not reached: the filter only tags the span
                }

                AttemptTracing.Ended(span, result);
            }

            switch (result)
            {
                case StepResult.Done:
                    return;
                case StepResult.RunAgain when runStep >= 0:
                    i = runStep;
                    break;
                case StepResult.RunAgain:
                    throw new InvalidOperationException("a step asked for another run, but the pipeline has no run step");
                default:
                    i++;
                    break;
            }
        }
    }
}
