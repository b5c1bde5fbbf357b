using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Tests.Support;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Tests.Agents;

/// <summary>RETENTION_DAYS: what ended long ago goes (record, logs, WIP branch), what is live never (real git, real HTTP).</summary>
public sealed class RetentionTests
{
    [Theory]
    [InlineData("30", true)]
    [InlineData("0", false)]
    public async Task A_sweep_removes_an_old_ended_agent_with_its_logs_and_wip_branch_and_keeps_a_live_one(string days, bool removes)
    {
        var remote = GitRemote.Create("retention");
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = "gates:\n  tests: \"false\"\n" }, "a gate nobody passes");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo attempt > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
            s["RETENTION_DAYS"] = days;
        });
        var ended = await host.SpawnAsync("T-old", repository: remote.Bare);
        await host.Events.WaitForAsync(ended, "agent.cleanup");
        var record = await host.StatusAsync(ended);
        var wip = record.GetProperty("wipBranch").GetString()!;
        var branch = record.GetProperty("branch").GetString()!;
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var live = await host.SpawnAsync("T-live", repository: remote.Bare);
        var folder = Path.Combine(host.DataDir, "agents", ended.ToString());
        Assert.True(Directory.Exists(folder));

        var report = await host.Get<RetentionSweep>().SweepAsync(DateTimeOffset.UtcNow.AddDays(31), default);

        var cache = host.Get<GitWorkspaceProvider>().CacheFor(remote.Bare);
        using var gone = await host.Client.GetAsync($"/agents/{ended}/status");
        Assert.Equal(removes ? HttpStatusCode.NotFound : HttpStatusCode.OK, gone.StatusCode);
        Assert.Equal(removes, !Directory.Exists(folder));
        Assert.Equal(removes, remote.BranchHead(wip) is null);
        Assert.Equal(removes, !GitRefExists(cache, $"refs/heads/{branch}"));
        Assert.Equal(removes ? 1 : 0, report.Agents);
        Assert.Equal(removes, report.Events > 0);
        Assert.Equal("spawning", (await host.StatusAsync(live)).GetProperty("status").GetString());
    }

    private static bool GitRefExists(string repository, string reference)
    {
        try
        {
            GitRemote.Git(repository, "rev-parse", "--verify", "--quiet", reference);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
