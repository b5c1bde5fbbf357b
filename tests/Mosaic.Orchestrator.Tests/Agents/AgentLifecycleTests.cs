using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Tests.Agents;

public sealed class AgentLifecycleTests
{
    public static TheoryData<AgentStatus, AgentStatus, bool> Moves()
    {
        var allowed = new HashSet<(AgentStatus, AgentStatus)>
        {
            (AgentStatus.Spawning, AgentStatus.Running),
            (AgentStatus.Spawning, AgentStatus.Failed),
            (AgentStatus.Spawning, AgentStatus.Killed),
            (AgentStatus.Running, AgentStatus.Completed),
            (AgentStatus.Running, AgentStatus.Failed),
            (AgentStatus.Running, AgentStatus.Killed),
        };
        var data = new TheoryData<AgentStatus, AgentStatus, bool>();
        foreach (var from in Enum.GetValues<AgentStatus>())
        {
            foreach (var to in Enum.GetValues<AgentStatus>())
            {
                data.Add(from, to, allowed.Contains((from, to)));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Moves))]
    public void Only_the_spec_moves_are_allowed(AgentStatus from, AgentStatus to, bool allowed)
    {
        Assert.Equal(allowed, AgentLifecycle.CanMove(from, to));
        if (allowed)
        {
            AgentLifecycle.EnsureCanMove(Guid.Empty, from, to);
        }
        else
        {
            var error = Assert.Throws<IllegalTransitionException>(() => AgentLifecycle.EnsureCanMove(Guid.Empty, from, to));
            Assert.Equal((from, to), (error.From, error.To));
            Assert.Contains(from.ToString().ToLowerInvariant(), error.Message);
        }
    }

    [Theory]
    [InlineData(AgentStatus.Spawning, false, "agent.spawned")]
    [InlineData(AgentStatus.Running, false, "agent.running")]
    [InlineData(AgentStatus.Completed, true, "agent.completed")]
    [InlineData(AgentStatus.Failed, true, "agent.failed")]
    [InlineData(AgentStatus.Killed, true, "agent.killed")]
    public void Terminal_states_and_their_events(AgentStatus status, bool terminal, string eventType)
    {
        Assert.Equal(terminal, AgentLifecycle.IsTerminal(status));
        Assert.Equal(eventType, AgentLifecycle.EventTypeFor(status));
    }
}
