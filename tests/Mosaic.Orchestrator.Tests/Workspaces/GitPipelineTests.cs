using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Workspaces;

/// <summary>The agent's work leaves as a pushed branch: real git, real remotes (bare repositories and git daemon).</summary>
public sealed class GitPipelineTests
{
    [Fact]
    public async Task Spawn_to_pushed_branch_end_to_end_through_http()
    {
        var remote = GitRemote.Create("e2e");
        var baseCommit = remote.BranchHead("main");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo hello > hello.txt");
        var id = await host.SpawnAsync("T-e2e", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");

        var status = await host.StatusAsync(id);
        Assert.Equal("completed", status.GetProperty("status").GetString());
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Equal($"agent/T-e2e-{id.ToString("N")[^8..]}", branch);
        Assert.Equal(baseCommit, status.GetProperty("baseCommit").GetString());
        Assert.True(status.GetProperty("pushed").GetBoolean());
        var head = status.GetProperty("headCommit").GetString();
        Assert.Equal(head, remote.BranchHead(branch));
        Assert.Equal("hello\n", remote.Show(branch, "hello.txt"));
        var log = remote.Log(branch).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Mosaic Orchestrator <orchestrator@mosaic.local>|T-e2e: US-001", log[0]);
        Assert.Equal(baseCommit, remote.BranchHead("main"));
        Assert.False(Directory.Exists(await host.WorktreeOfAsync(id)), "the worktree is removed at the end");
    }

    [Fact]
    public async Task The_agents_own_commits_are_kept_and_what_it_left_uncommitted_is_committed_on_top()
    {
        var remote = GitRemote.Create("own");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
            "echo a > a.txt && git add a.txt && git -c user.name=Agent -c user.email=agent@example.test commit -qm 'agent commit' && echo b > b.txt");
        var id = await host.SpawnAsync("T-own", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.completed");
        var branch = (await host.StatusAsync(id)).GetProperty("branch").GetString()!;
        var log = remote.Log(branch).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["Mosaic Orchestrator <orchestrator@mosaic.local>|T-own: US-001", "Agent <agent@example.test>|agent commit", "Test Colleague <colleague@example.test>|initial"], log);
        Assert.Equal("b\n", remote.Show(branch, "b.txt"));
    }

    [Fact]
    public async Task Long_work_items_give_a_one_line_subject_and_go_whole_into_the_body()
    {
        var remote = GitRemote.Create("subject");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo x > x.txt");
        const string first = "US-101: add a file RESULT.md that summarises this repository in one paragraph";
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json($$$"""
            {"taskId":"T-subject","agentType":"worker","context":{"repository":"{{{remote.Bare}}}","branch":"main","workItems":["{{{first}}}","US-102: more"]}}
            """));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("agentId").GetGuid();
        await host.Events.WaitForAsync(id, "agent.completed");

        var branch = (await host.StatusAsync(id)).GetProperty("branch").GetString()!;
        var message = GitRemote.Git(remote.Bare, "log", "-1", "--format=%B", branch).Split('\n');
        Assert.True(message[0].Length <= 72, message[0]);
        Assert.StartsWith("T-subject: US-101: add a file", message[0]);
        Assert.EndsWith("...", message[0]);
        Assert.Contains($"Work items: {first}, US-102: more", message);
    }

    [Fact]
    public async Task A_worker_that_changes_nothing_fails_and_a_reviewer_that_changes_nothing_completes_without_a_push()
    {
        var remote = GitRemote.Create("nochange");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "true");
        var worker = await host.SpawnAsync("T-idle-worker", repository: remote.Bare);
        var reviewer = await host.SpawnAsync("T-idle-reviewer", agentType: "reviewer", repository: remote.Bare);
        await host.Events.WaitForAsync(worker, "agent.cleanup");
        await host.Events.WaitForAsync(reviewer, "agent.cleanup");

        var failed = await host.StatusAsync(worker);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("no-changes", failed.GetProperty("reason").GetString());
        Assert.False(failed.GetProperty("pushed").GetBoolean());
        Assert.Null(remote.BranchHead(failed.GetProperty("branch").GetString()!));

        var reviewed = await host.StatusAsync(reviewer);
        Assert.Equal("completed", reviewed.GetProperty("status").GetString());
        Assert.False(reviewed.GetProperty("pushed").GetBoolean());
        Assert.Equal(reviewed.GetProperty("baseCommit").GetString(), reviewed.GetProperty("headCommit").GetString());
    }

    [Fact]
    public async Task Several_agents_on_one_repository_at_once_all_push_their_branches()
    {
        var remote = GitRemote.Create("many");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "sleep 0.3; echo \"$MOSAIC_TASK_ID\" > \"out-$MOSAIC_TASK_ID.txt\"";
            s["MAX_CONCURRENT_AGENTS"] = "4";
        });
        var ids = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await host.SpawnAsync($"T-many-{i}", repository: remote.Bare));
        }

        foreach (var id in ids)
        {
            await host.Events.WaitForAsync(id, "agent.cleanup");
            var status = await host.StatusAsync(id);
            Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
            var branch = status.GetProperty("branch").GetString()!;
            Assert.Equal(status.GetProperty("headCommit").GetString(), remote.BranchHead(branch));
        }
    }

    [Fact]
    public async Task A_base_that_moves_into_a_conflict_while_the_agent_works_fails_the_run_before_any_push()
    {
        var remote = GitRemote.Create("conflict");
        var flag = Path.Combine(TempDirectory.Create("flag"), "go");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
            $"while [ ! -f {flag} ]; do sleep 0.05; done; printf '# Demo\\n\\nagent line\\nline two\\n' > README.md");
        var id = await host.SpawnAsync("T-conflict", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.running");
        var moved = remote.CommitToBranch("main", "README.md", "# Demo\n\ncolleague line\nline two\n", "colleague edits README");
        await File.WriteAllTextAsync(flag, "");

        var failed = await host.Events.WaitForAsync(id, "agent.failed");
        Assert.Equal("conflict", failed.Data!.Value.GetProperty("reason").GetString());
        var status = await host.StatusAsync(id);
        Assert.Equal(["README.md"], status.GetProperty("conflicts").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains(moved[..12], status.GetProperty("error").GetString());
        Assert.False(status.GetProperty("pushed").GetBoolean());
        Assert.Null(remote.BranchHead(status.GetProperty("branch").GetString()!));
    }

    [Fact]
    public async Task A_base_that_moves_without_conflict_still_lets_the_branch_through()
    {
        var remote = GitRemote.Create("clean");
        var flag = Path.Combine(TempDirectory.Create("flag"), "go");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = $"while [ ! -f {flag} ]; do sleep 0.05; done; echo mine > mine.txt");
        var id = await host.SpawnAsync("T-clean", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.running");
        remote.CommitToBranch("main", "theirs.txt", "theirs\n");
        await File.WriteAllTextAsync(flag, "");
        await host.Events.WaitForAsync(id, "agent.completed");
        Assert.True((await host.StatusAsync(id)).GetProperty("pushed").GetBoolean());
    }

    [Fact]
    public async Task A_rejected_push_fails_the_run_with_the_remotes_words()
    {
        var remote = GitRemote.Create("refuse");
        remote.RefusePushes("policy: agent branches are not accepted here");
        await using var host = await TestHost.StartAsync();
        var id = await host.SpawnAsync("T-refused", repository: remote.Bare);
        var failed = await host.Events.WaitForAsync(id, "agent.failed");
        Assert.Equal("push-rejected", failed.Data!.Value.GetProperty("reason").GetString());
        var status = await host.StatusAsync(id);
        Assert.Contains("policy: agent branches are not accepted here", status.GetProperty("error").GetString());
        Assert.False(status.GetProperty("pushed").GetBoolean());
        Assert.Equal(1, status.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task Kill_in_the_middle_removes_the_worktree_and_leaves_the_repository_cache_healthy()
    {
        var remote = GitRemote.Create("kill");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo partial > partial.txt; sleep 300";
            s["KILL_GRACE_SECONDS"] = "1";
        });
        var id = await host.SpawnAsync("T-killed", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.running");
        var worktree = await host.WorktreeOfAsync(id);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(worktree, "partial.txt")), "the agent to write");
        using (await host.Client.PostAsync($"/agents/{id}/kill", null))
        {
        }

        await host.Events.WaitForAsync(id, "agent.cleanup");
        Assert.False(Directory.Exists(worktree));
        var cache = Path.GetDirectoryName(worktree)!.Replace("_worktrees", "", StringComparison.Ordinal);
        GitRemote.Git(cache, "fsck", "--no-progress");
        Assert.DoesNotContain(Path.GetFileName(worktree), GitRemote.Git(cache, "worktree", "list"));
        var branch = (await host.StatusAsync(id)).GetProperty("branch").GetString()!;
        Assert.NotEmpty(GitRemote.Git(cache, "rev-parse", "--verify", $"refs/heads/{branch}").Trim());
    }

    [Fact]
    public async Task On_start_worktrees_without_a_live_agent_are_removed()
    {
        var remote = GitRemote.Create("reconcile");
        var dataDir = TempDirectory.Create("reconcile");
        string stray;
        string cache;
        await using (var first = await TestHost.StartAsync(dataDir: dataDir))
        {
            var id = await first.SpawnAsync("T-first", repository: remote.Bare);
            await first.Events.WaitForAsync(id, "agent.cleanup");
            var worktree = await first.WorktreeOfAsync(id);
            cache = Path.GetDirectoryName(worktree)!.Replace("_worktrees", "", StringComparison.Ordinal);
            stray = Path.Combine(Path.GetDirectoryName(worktree)!, $"agent-{Guid.NewGuid()}-T-gone");
        }

        GitRemote.Git(cache, "worktree", "add", "--quiet", "-b", "stray-branch", stray, "refs/remotes/origin/main");
        Assert.Contains(Path.GetFileName(stray), GitRemote.Git(cache, "worktree", "list"));

        await using var second = await TestHost.StartAsync(dataDir: dataDir);
        await Wait.UntilAsync(
            () => !Directory.Exists(stray) && !GitRemote.Git(cache, "worktree", "list").Contains(Path.GetFileName(stray), StringComparison.Ordinal),
            "the stray worktree to be removed and unregistered");
        GitRemote.Git(cache, "fsck", "--no-progress");
    }

    [Fact]
    public async Task A_network_remote_served_by_git_daemon_works_end_to_end()
    {
        var remote = GitRemote.Create("daemon");
        var port = Loopback.FreePort();
        var start = new ProcessStartInfo("git") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1", $"--port={port}", $"--base-path={remote.Root}", remote.Root })
        {
            start.ArgumentList.Add(argument);
        }

        using var daemon = Process.Start(start)!;
        try
        {
            await Wait.UntilAsync(() => Loopback.Listens(port), "git daemon to listen");
            await using var host = await TestHost.StartAsync(s => s["ALLOW_LOCAL_REPOSITORIES"] = "false");
            var id = await host.SpawnAsync("T-daemon", repository: $"git://127.0.0.1:{port}/remote.git");
            await host.Events.WaitForAsync(id, "agent.cleanup");
            var status = await host.StatusAsync(id);
            Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
            Assert.Equal(status.GetProperty("headCommit").GetString(), remote.BranchHead(status.GetProperty("branch").GetString()!));
        }
        finally
        {
            daemon.Kill(entireProcessTree: true);
            await daemon.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task A_missing_base_branch_fails_at_once_and_a_dead_remote_is_retried_without_leaking_credentials()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["TASK_MAX_ATTEMPTS"] = "2";
            s["RETRY_BASE_DELAY_SECONDS"] = "0";
        });
        var missing = await host.SpawnAsync("T-nobranch", branch: "does-not-exist");
        var failed = await host.Events.WaitForAsync(missing, "agent.failed");
        Assert.Equal("bad-repository", failed.Data!.Value.GetProperty("reason").GetString());
        Assert.Equal(1, (await host.StatusAsync(missing)).GetProperty("attempt").GetInt32());

        var port = Loopback.FreePort(); // nothing listens there
        var dead = await host.SpawnAsync("T-dead", repository: $"https://agent:s3cret-token@127.0.0.1:{port}/x.git");
        var exhausted = await host.Events.WaitForAsync(dead, "agent.failed");
        Assert.Equal("attempts-exhausted", exhausted.Data!.Value.GetProperty("reason").GetString());
        using var raw = await host.Client.GetAsync($"/agents/{dead}/status");
        var text = await raw.Content.ReadAsStringAsync();
        Assert.Contains("git-network", text);
        Assert.DoesNotContain("s3cret", text);
        Assert.DoesNotContain(host.Events.For(dead), e => e.Data?.ToString().Contains("s3cret", StringComparison.Ordinal) == true);
        using var events = await host.Client.GetAsync("/agents/audit");
        Assert.DoesNotContain("s3cret", await events.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("ext::sh -c 'touch /tmp/pwned'")]
    [InlineData("fd::7")]
    [InlineData("-uhelp")]
    [InlineData("/srv/git/app.git")]
    [InlineData("file:///srv/git/app.git")]
    [InlineData("https://example.com/a\u0007.git")]
    public async Task Hostile_repositories_are_refused_with_a_400_naming_the_field(string repository)
    {
        await using var host = await TestHost.StartAsync(s => s["ALLOW_LOCAL_REPOSITORIES"] = "false");
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-hostile", repository: repository)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["context.repository"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
    }
}
