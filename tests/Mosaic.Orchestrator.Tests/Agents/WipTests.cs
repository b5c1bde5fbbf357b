using Mosaic.Orchestrator.Tests.Support;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Agents;

/// <summary>Work never lost: an attempt that ends badly leaves what it did on its WIP branch (real git, real remotes).</summary>
public sealed class WipTests
{
    /// <summary>Writes its work, says so, then works on until it is stopped.</summary>
    private static string Agent(string work) =>
        $"{work}; touch \"$(dirname \"$MOSAIC_PROMPT_FILE\")/ready\"; sleep 60";

    [Fact]
    public async Task An_agent_killed_mid_run_leaves_its_work_on_a_wip_branch()
    {
        var remote = GitRemote.Create("wip-kill");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = Agent("echo half done > work.txt"));
        var id = await host.SpawnAsync("T-wip-kill", repository: remote.Bare);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(host.DataDir, "agents", id.ToString(), "ready")), "the agent to write its work");
        using (await host.Client.PostAsync($"/agents/{id}/kill", null))
        {
        }

        await host.Events.WaitForAsync(id, "agent.cleanup");
        var status = await host.StatusAsync(id);
        Assert.Equal("killed", status.GetProperty("status").GetString());
        var branch = status.GetProperty("branch").GetString()!;
        var wip = status.GetProperty("wipBranch").GetString()!;
        Assert.Equal($"wip/{branch}", wip);
        Assert.Equal(status.GetProperty("wipCommit").GetString(), remote.BranchHead(wip));
        Assert.Equal("half done\n", remote.Show(wip, "work.txt"));
        Assert.Null(remote.BranchHead(branch));
        var types = host.Events.For(id).Select(e => e.Type).ToList();
        Assert.True(types.IndexOf("agent.killed") < types.IndexOf("agent.wip") && types.IndexOf("agent.wip") < types.IndexOf("agent.cleanup"), string.Join(", ", types));
    }

    [Fact]
    public async Task Work_holding_a_secret_is_not_pushed_and_the_record_says_why()
    {
        var remote = GitRemote.Create("wip-secret");
        var token = GitHubClassic("wip-secret");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = Agent($"echo 'token: {token}' > config.yml"));
        var id = await host.SpawnAsync("T-wip-secret", repository: remote.Bare);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(host.DataDir, "agents", id.ToString(), "ready")), "the agent to write its work");
        using (await host.Client.PostAsync($"/agents/{id}/kill", null))
        {
        }

        await host.Events.WaitForAsync(id, "agent.cleanup");
        var status = await host.StatusAsync(id);
        Assert.False(status.TryGetProperty("wipBranch", out _), status.GetRawText());
        var error = status.GetProperty("wipError").GetString()!;
        Assert.StartsWith("secrets-detected: 1 secret(s) in the work; it was not pushed: github-pat in config.yml:1", error);
        Assert.DoesNotContain(token, status.GetRawText());
        Assert.Null(remote.BranchHead($"wip/{status.GetProperty("branch").GetString()}"));
    }

    [Fact]
    public async Task A_gate_the_agent_could_not_fix_leaves_the_work_on_a_wip_branch_unless_turned_off()
    {
        var remote = GitRemote.Create("wip-gate");
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = "gates:\n  tests: \"false\"\n" }, "a gate nobody passes");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo attempt > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await host.SpawnAsync("T-wip-gate", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");
        var status = await host.StatusAsync(id);
        Assert.Equal("gate-failed:tests", status.GetProperty("reason").GetString());
        var wip = status.GetProperty("wipBranch").GetString()!;
        Assert.Equal("attempt\n", remote.Show(wip, "feature.txt"));
        Assert.Single(host.Events.For(id), e => e.Type == "agent.wip");

        await using var off = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo attempt > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
            s["WIP_ON_ABNORMAL_END"] = "false";
        });
        var kept = await off.SpawnAsync("T-wip-off", repository: remote.Bare);
        await off.Events.WaitForAsync(kept, "agent.cleanup");
        var unkept = await off.StatusAsync(kept);
        Assert.False(unkept.TryGetProperty("wipBranch", out _), unkept.GetRawText());
        Assert.Null(remote.BranchHead($"wip/{unkept.GetProperty("branch").GetString()}"));
    }
}
