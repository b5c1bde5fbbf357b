using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Tests.Agents;

/// <summary>The registry of this instance's runs, with real tasks on the thread pool.</summary>
public sealed class ActiveRunsTests
{
    [Fact]
    public async Task A_run_stopped_after_it_ended_is_left_alone()
    {
        // What shutdown does: take a snapshot, then stop each run; a run may end in between.
        var runs = new ActiveRuns();
        var mayEnd = new TaskCompletionSource();
        var run = runs.Start(Guid.NewGuid(), _ => mayEnd.Task, () => { });
        var snapshot = runs.Snapshot;
        mayEnd.SetResult();
        await run.Completion;

        foreach (var each in snapshot)
        {
            each.Stop(StopReason.Shutdown);
        }

        Assert.Equal(0, runs.Count);
        Assert.Equal(StopReason.Shutdown, run.Reason);
    }

    [Fact]
    public async Task A_run_that_ends_leaves_a_later_run_of_the_same_agent_registered()
    {
        var runs = new ActiveRuns();
        var agentId = Guid.NewGuid();
        var firstMayEnd = new TaskCompletionSource();
        var first = runs.Start(agentId, _ => firstMayEnd.Task, () => { });
        var second = runs.Start(agentId, run => Task.Delay(Timeout.Infinite, run.Token), () => { });

        firstMayEnd.SetResult();
        await first.Completion;

        Assert.True(runs.IsRunning(agentId));
        Assert.Same(second, Assert.Single(runs.Snapshot));
        Assert.True(runs.TryStop(agentId, StopReason.Killed));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Completion);
        Assert.Equal(0, runs.Count);
    }
}
