using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Tests.Processes;

/// <summary>
/// An agent leads its own session, and with autogroup scheduling a session is a scheduling group of its own: the
/// agent's niceness must be on that group, or the agent competes with the service as an equal.
/// </summary>
public sealed class SessionNiceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("session-nice-").FullName;

    [Fact]
    public async Task An_agent_session_gets_the_agent_niceness_and_the_service_keeps_its_own()
    {
        var serviceGroup = File.ReadAllText("/proc/self/autogroup").Trim();
        var (agentGroup, childGroup) = await RunAndReadGroupsAsync(nice: 7);

        if (!SessionNice.AutogroupsActive)
        {
            Assert.Equal(serviceGroup, agentGroup); // no autogroups: one group for all, and nothing was written
            return;
        }

        Assert.EndsWith(" nice 7", agentGroup);
        Assert.NotEqual(GroupName(serviceGroup), GroupName(agentGroup));
        Assert.Equal(agentGroup, childGroup); // what the agent starts shares its group
        Assert.Equal(serviceGroup, File.ReadAllText("/proc/self/autogroup").Trim());
    }

    [Fact]
    public async Task Niceness_zero_leaves_the_session_group_alone()
    {
        var (agentGroup, _) = await RunAndReadGroupsAsync(nice: 0);

        Assert.EndsWith(" nice 0", agentGroup);
    }

    [Fact]
    public async Task A_process_that_never_leads_a_session_is_left_alone()
    {
        // This test process is not a session leader: nothing may be written to the group it shares with its session.
        var before = File.ReadAllText("/proc/self/autogroup").Trim();

        var applied = await SessionNice.ApplyAsync(Environment.ProcessId, 9, CancellationToken.None);

        Assert.False(applied);
        Assert.Equal(before, File.ReadAllText("/proc/self/autogroup").Trim());
    }

    private async Task<(string Agent, string Child)> RunAndReadGroupsAsync(int nice)
    {
        var marker = $"MOSAIC_SESSION_NICE_TEST={Guid.NewGuid():N}";
        var childPidFile = Path.Combine(_folder, $"child-{nice}");
        var spec = new ProcessSpec(
            "/bin/sh",
            ["-c", $"sleep 30 & echo $! > {childPidFile}; wait"],
            _folder,
            new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
            marker,
            Path.Combine(_folder, $"log-{nice}"),
            LogMaxBytes: 1 << 16,
            Nice: nice);
        using var stop = new CancellationTokenSource();
        string? agentGroup = null;
        string? childGroup = null;
        var run = ProcessLauncher.RunAsync(spec, TimeSpan.FromSeconds(2), async started =>
        {
            // Until setsid has exec'd, the file names the group of the process that started it (and reads empty when
            // that is init's default group, as under a CI runner that never called setsid).
            await Support.Wait.UntilAsync(() => ProcessTable.Read(started.Pid)?.Session == started.Pid, "the agent leading its session");
            agentGroup = File.ReadAllText($"/proc/{started.Pid}/autogroup").Trim();
            await Support.Wait.UntilAsync(() => File.Exists(childPidFile) && File.ReadAllText(childPidFile).Trim().Length > 0, "the agent's child");
            childGroup = File.ReadAllText($"/proc/{File.ReadAllText(childPidFile).Trim()}/autogroup").Trim();
            await stop.CancelAsync();
        }, stop.Token);

        var outcome = await run;
        Assert.True(outcome.Cancelled);
        return (agentGroup!, childGroup!);
    }

    // "/autogroup-123 nice 7" -> "/autogroup-123"
    private static string GroupName(string line) => line.Split(' ')[0];

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
