using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Agents;

public sealed class AgentTransitionsTests
{
    [Fact]
    public async Task A_kill_and_a_completion_racing_end_with_exactly_one_winner()
    {
        await using var host = await TestHost.StartAsync(withoutWorker: true);

        var transitions = host.Get<AgentTransitions>();
        for (var round = 0; round < 20; round++)
        {
            var id = await host.SpawnAsync($"T-race-{round}");
            var lease = new TaskLease("test/instance", $"token-{round}");
            var leased = await host.Get<ITaskQueue>().LeaseNextAsync(lease, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(1), default);
            Assert.Equal(id, leased?.AgentId);
            await transitions.ChangeAsync(id, a => a with { Status = AgentStatus.Running, TaskState = TaskState.Executing }, default, lease);

            var complete = Task.Run(() => transitions.ChangeAsync(id, a => AgentLifecycle.Completed(a, 0, DateTimeOffset.UtcNow), default, lease));
            var kill = Task.Run(() => transitions.ChangeAsync(id, a => a with { Status = AgentStatus.Killed, TaskState = TaskState.Failed, Lease = null }, default));
            var outcomes = await Task.WhenAll(Outcome(complete), Outcome(kill));
            Assert.Single(outcomes, o => o == "won");
            Assert.Single(outcomes, o => o == nameof(IllegalTransitionException));
            var final = await host.StatusAsync(id);
            await host.Events.WaitForAsync(e => e.AgentId == id && e.Type is "agent.completed" or "agent.killed");
            var terminalEvents = host.Events.For(id).Count(e => e.Type is "agent.completed" or "agent.killed");
            Assert.Equal(1, terminalEvents);
            Assert.Contains(final.GetProperty("status").GetString(), new[] { "completed", "killed" });
        }
    }

    private static async Task<string> Outcome(Task task)
    {
        try
        {
            await task;
            return "won";
        }
        catch (IllegalTransitionException)
        {
            return nameof(IllegalTransitionException);
        }
    }

    [Fact]
    public async Task Changing_an_unknown_agent_or_a_terminal_one_is_refused()
    {
        await using var host = await TestHost.StartAsync();
        var transitions = host.Get<AgentTransitions>();
        await Assert.ThrowsAsync<AgentNotFoundException>(() => transitions.ChangeAsync(Guid.NewGuid(), a => a, default));
        var id = await host.SpawnAsync("T-terminal");
        await host.Events.WaitForAsync(id, "agent.completed");
        await Assert.ThrowsAsync<IllegalTransitionException>(() => transitions.ChangeAsync(id, a => a with { Error = "late" }, default));
    }
}
