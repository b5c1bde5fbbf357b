using Mosaic.Orchestrator.Tests.Support;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Tests.Workspaces;

/// <summary>Every agent pushes a branch of its own, and a push replaces nobody else's work (real git, real remotes).</summary>
public sealed class AgentBranchTests
{
    [Fact]
    public async Task The_same_task_spawned_twice_within_a_second_pushes_two_branches_each_with_its_own_commit()
    {
        var remote = GitRemote.Create("twice");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo \"$MOSAIC_AGENT_ID\" > who.txt");
        var first = await host.SpawnAsync("T-43", repository: remote.Bare);
        await host.Events.WaitForAsync(first, "agent.completed");
        var second = await host.SpawnAsync("T-43", repository: remote.Bare);
        await host.Events.WaitForAsync(second, "agent.completed");

        var one = await host.StatusAsync(first);
        var two = await host.StatusAsync(second);
        var firstBranch = one.GetProperty("branch").GetString()!;
        var secondBranch = two.GetProperty("branch").GetString()!;
        Assert.NotEqual(firstBranch, secondBranch);
        Assert.Equal(one.GetProperty("headCommit").GetString(), remote.BranchHead(firstBranch));
        Assert.Equal(two.GetProperty("headCommit").GetString(), remote.BranchHead(secondBranch));
        Assert.Equal($"{first}\n", remote.Show(firstBranch, "who.txt"));
        Assert.Equal($"{second}\n", remote.Show(secondBranch, "who.txt"));
    }

    [Fact]
    public void The_short_id_comes_from_the_random_part_of_the_id_not_its_clock()
    {
        var at = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 1000).Select(_ => BranchTemplate.ShortId(Guid.CreateVersion7(at))).ToHashSet();
        Assert.True(ids.Count > 990, $"{ids.Count} distinct short ids of 1000 agents created in the same millisecond");
    }

    [Theory]
    [InlineData("agent/{nope}-{shortId}", "unknown placeholder(s) {nope}")]
    [InlineData("agent/{taskId}", "must contain {agentId} or {shortId}")]
    [InlineData("agent/{shortId}..x", "which must not contain '..'")]
    public void Templates_that_would_share_or_break_branches_are_refused(string template, string problem)
    {
        Assert.Contains(BranchTemplate.Check(template), p => p.Contains(problem, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("agent/{taskId}-{shortId}")]
    [InlineData("bots/{agentType}/{agentId}")]
    public void Good_templates_pass(string template) => Assert.Empty(BranchTemplate.Check(template));

    [Fact]
    public async Task A_branch_someone_else_pushed_to_is_not_replaced()
    {
        var remote = GitRemote.Create("taken");
        // The agent pushes a commit of its own making to its branch's name on the remote before the service's push:
        // that commit is not the service's to replace.
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
            $"echo mine > mine.txt && git push -q {remote.Bare} HEAD:refs/heads/$(git rev-parse --abbrev-ref HEAD)");
        var id = await host.SpawnAsync("T-taken", repository: remote.Bare);
        var failed = await host.Events.WaitForAsync(id, "agent.failed");

        Assert.Equal("push-rejected", failed.Data!.Value.GetProperty("reason").GetString());
        var status = await host.StatusAsync(id);
        Assert.Contains("which this agent did not push", status.GetProperty("error").GetString());
        Assert.Equal(remote.BranchHead("main"), remote.BranchHead(status.GetProperty("branch").GetString()!));
        Assert.False(status.GetProperty("pushed").GetBoolean());
    }
}
