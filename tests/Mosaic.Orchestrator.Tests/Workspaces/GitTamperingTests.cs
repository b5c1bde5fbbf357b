using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Workspaces;

/// <summary>An agent runs code as the orchestrator's user and shares the repository cache: what it plants there must not run in our git calls or reach the next agent.</summary>
public sealed class GitTamperingTests
{
    [Fact]
    public async Task Hooks_fsmonitor_and_config_planted_by_one_agent_run_nothing_and_do_not_reach_the_next_agent()
    {
        var remote = GitRemote.Create("tamper");
        var evidence = TempDirectory.Create("evidence");
        var planted = Path.Combine(evidence, "planted-ran");
        var ext = Path.Combine(evidence, "ext-ran");
        // The first agent plants a pre-commit hook, an fsmonitor command and a transport rewrite in the shared cache.
        var plant = string.Join("; ",
            "common=$(git rev-parse --git-common-dir)",
            $"printf '#!/bin/sh\\ntouch {planted}\\n' > \"$common/hooks/pre-commit\"",
            $"printf '#!/bin/sh\\ntouch {planted}\\n' > \"$common/hooks/pre-push\"",
            "chmod +x \"$common/hooks/pre-commit\" \"$common/hooks/pre-push\"",
            $"git config --file \"$common/config\" core.fsmonitor 'touch {planted}'",
            "git config --file \"$common/config\" protocol.ext.allow always",
            $"git config --file \"$common/config\" url.\"ext::sh -c touch% {ext}% >&2\".insteadOf \"$(git config --file \"$common/config\" remote.origin.url)\"",
            "echo first > first.txt");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = $"if [ \"$MOSAIC_TASK_ID\" = T-plant ]; then {plant}; else echo second > second.txt; fi");
        var first = await host.SpawnAsync("T-plant", repository: remote.Bare);
        await host.Events.WaitForAsync(first, "agent.cleanup");
        Assert.Equal("completed", (await host.StatusAsync(first)).GetProperty("status").GetString());

        var second = await host.SpawnAsync("T-after", repository: remote.Bare);
        await host.Events.WaitForAsync(second, "agent.cleanup");
        var status = await host.StatusAsync(second);
        Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
        Assert.True(status.GetProperty("pushed").GetBoolean());
        Assert.False(File.Exists(planted), "a planted hook or fsmonitor ran inside the orchestrator's git");
        Assert.False(File.Exists(ext), "an ext:: transport planted in the cache config ran");
    }

    /// <summary>
    /// A filter driver planted in the shared cache's config, named by a .gitattributes in the worktree and by the cache's
    /// info/attributes, would run inside the service's own `git add` (as the service, its setsid child outliving every
    /// kill). The service's git in a worktree reads a config of its own: nothing runs, and the file is committed as it is.
    /// </summary>
    [Fact]
    public async Task A_filter_driver_planted_in_the_cache_runs_nothing_in_the_commit_and_the_file_is_committed_as_it_is()
    {
        var remote = GitRemote.Create("filter");
        var evidence = TempDirectory.Create("evidence");
        var marker = Path.Combine(evidence, "filter-ran");
        var sleeper = $"299.{Random.Shared.Next(100_000, 999_999)}"; // a sleep we can find in /proc by its argument
        var start = $"touch {marker}; setsid sleep {sleeper} </dev/null >/dev/null 2>&1 &";
        var clean = $"{start} tr a-z A-Z";
        var plant = string.Join("; ",
            "common=$(git rev-parse --git-common-dir)",
            $"git config --file \"$common/config\" filter.evil.clean '{clean}'",
            $"git config --file \"$common/config\" filter.evil.smudge '{clean}'",
            $"git config --file \"$common/config\" filter.evil2.process '{start}'",
            "mkdir -p \"$common/info\"",
            "echo '*.md filter=evil2' > \"$common/info/attributes\"",
            "echo '*.txt filter=evil' > .gitattributes",
            "echo 'real content' > work.txt",
            "echo 'notes' > notes.md");
        try
        {
            await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = plant);
            var id = await host.SpawnAsync("T-filter", repository: remote.Bare);
            await host.Events.WaitForAsync(id, "agent.cleanup");
            var status = await host.StatusAsync(id);

            Assert.False(File.Exists(marker), "a filter driver planted in the cache ran inside the orchestrator's git");
            Assert.Empty(Sleepers(sleeper));
            Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
            var branch = status.GetProperty("branch").GetString()!;
            Assert.Equal("real content\n", remote.Show(branch, "work.txt"));
            Assert.Equal("notes\n", remote.Show(branch, "notes.md"));
            Assert.Equal("*.txt filter=evil\n", remote.Show(branch, ".gitattributes"));
        }
        finally
        {
            KillSleepers(sleeper);
        }
    }

    /// <summary>
    /// The secret scan reads the agent's commits with `git log --diff-merges=remerge`, which merges a merge commit's
    /// parents again: a merge driver (merge.x.driver) planted in the cache's config and named by its info/attributes
    /// would run there, as the service, with no race to win (nothing rewrites the config between the run and the scan).
    /// </summary>
    [Fact]
    public async Task A_merge_driver_planted_in_the_cache_runs_nothing_in_the_secret_scan()
    {
        var remote = GitRemote.Create("merge-driver");
        var evidence = TempDirectory.Create("evidence");
        var marker = Path.Combine(evidence, "merge-driver-ran");
        // A merge commit whose parents conflict in README.md, made before anything is planted (the agent's own merge
        // would run the driver itself); then the driver and the attribute that names it.
        var plant = string.Join("; ",
            "export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@example.test GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@example.test",
            "git checkout -q -b side",
            "echo side > README.md",
            "git commit -q -am side",
            "git checkout -q -",
            "echo mine > README.md",
            "git commit -q -am mine",
            "git merge -q side -m merge >/dev/null 2>&1 || true",
            "echo merged > README.md",
            "git add README.md",
            "git commit -q -m merge",
            "common=$(git rev-parse --git-common-dir)",
            $"git config --file \"$common/config\" merge.evil.driver 'touch {marker}; cp %B %A'",
            "mkdir -p \"$common/info\"",
            "echo '* merge=evil' > \"$common/info/attributes\"");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = plant);
        var id = await host.SpawnAsync("T-merge-driver", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");

        var status = await host.StatusAsync(id);
        Assert.False(File.Exists(marker), "a merge driver planted in the cache ran inside the orchestrator's git");
        Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
        Assert.Equal("merged\n", remote.Show(status.GetProperty("branch").GetString()!, "README.md"));
    }

    /// <summary>
    /// The conflict check rewrites the cache's config before it fetches, but a process the agent left behind (setsid,
    /// cleared environment: out of the kill's reach) can write a merge driver back into it at any moment, and
    /// `merge-tree` merges the agent's file with the moved base's. It reads a config of the service's own: nothing runs.
    /// </summary>
    [Fact]
    public async Task A_merge_driver_written_back_into_the_cache_all_the_time_runs_nothing_in_the_conflict_check()
    {
        var remote = GitRemote.Create("merge-race");
        var evidence = TempDirectory.Create("evidence");
        var marker = Path.Combine(evidence, "merge-tree-driver-ran");
        var tag = $"299.{Random.Shared.Next(100_000, 999_999)}";
        var plant = string.Join("; ",
            "export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@example.test GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@example.test",
            // The base moves while the agent works, in the file the agent changes too.
            "echo upstream > README.md",
            "git commit -q -am upstream",
            "git push -q origin HEAD:main",
            "git reset -q --hard HEAD~1",
            "echo mine > README.md",
            "common=$(git rev-parse --git-common-dir)",
            "mkdir -p \"$common/info\"",
            "echo '* merge=evil' > \"$common/info/attributes\"",
            $"(env -i PATH=\"$PATH\" setsid sh -c 'cd /; while :; do git config --file \"$0/config\" merge.evil.driver \"touch {marker}; cp %B %A\" 2>/dev/null; sleep 0.002; done' \"$common\" {tag} </dev/null >/dev/null 2>&1 &)",
            "until grep -q evil \"$common/config\"; do sleep 0.01; done"); // the writer is out of reach before the agent ends
        try
        {
            await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = plant);
            var id = await host.SpawnAsync("T-merge-race", repository: remote.Bare);
            await host.Events.WaitForAsync(id, "agent.cleanup");
            Assert.NotEmpty(Sleepers(tag)); // the writer was there all along

            var status = await host.StatusAsync(id);
            Assert.False(File.Exists(marker), "a merge driver written into the cache ran inside the orchestrator's merge-tree");
            Assert.True(status.GetProperty("reason").GetString() == "conflict", status.ToString());
            Assert.Equal(["README.md"], status.GetProperty("conflicts").EnumerateArray().Select(e => e.GetString()));
        }
        finally
        {
            KillSleepers(tag);
        }
    }

    /// <summary>
    /// The next agent's worktree is checked out from the cache: a smudge filter that a process left behind by an earlier
    /// agent keeps writing into the cache's config (after the rewrite before each fetch), named by the cache's
    /// info/attributes, would run inside that checkout. The checkout reads a config of the service's own: nothing runs,
    /// and the files are checked out as they are.
    /// </summary>
    [Fact]
    public async Task A_smudge_filter_written_back_into_the_cache_all_the_time_runs_nothing_in_the_next_agents_checkout()
    {
        var remote = GitRemote.Create("smudge-race");
        var evidence = TempDirectory.Create("evidence");
        var marker = Path.Combine(evidence, "smudge-ran");
        var tag = $"299.{Random.Shared.Next(100_000, 999_999)}";
        var plant = string.Join("; ",
            "common=$(git rev-parse --git-common-dir)",
            "mkdir -p \"$common/info\"",
            "echo '* filter=evil' > \"$common/info/attributes\"",
            $"(env -i PATH=\"$PATH\" setsid sh -c 'cd /; while :; do git config --file \"$0/config\" filter.evil.smudge \"touch {marker}; tr a-z A-Z\" 2>/dev/null; sleep 0.002; done' \"$common\" {tag} </dev/null >/dev/null 2>&1 &)",
            "until grep -q evil \"$common/config\"; do sleep 0.01; done", // the writer is out of reach before the agent ends
            "echo first > first.txt");
        try
        {
            await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
                $"if [ \"$MOSAIC_TASK_ID\" = T-smudge-plant ]; then {plant}; else cat README.md > seen.txt; fi");
            var first = await host.SpawnAsync("T-smudge-plant", repository: remote.Bare);
            await host.Events.WaitForAsync(first, "agent.cleanup");
            Assert.NotEmpty(Sleepers(tag)); // the writer outlived its agent, as it would
            var second = await host.SpawnAsync("T-smudge-next", repository: remote.Bare);
            await host.Events.WaitForAsync(second, "agent.cleanup");

            var status = await host.StatusAsync(second);
            Assert.False(File.Exists(marker), "a smudge filter written into the cache ran inside the orchestrator's checkout");
            Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
            Assert.Equal("# Demo\n\nline one\nline two\n", remote.Show(status.GetProperty("branch").GetString()!, "seen.txt"));
        }
        finally
        {
            KillSleepers(tag);
        }
    }

    /// <summary>
    /// The fetch before each attempt and the push run right after the cache's config is rewritten, but a process left
    /// behind by an earlier agent can write an upload-pack or receive-pack command (run locally for a local remote)
    /// back into it at any moment. Fetch and push read a config of the service's own: nothing runs.
    /// </summary>
    [Fact]
    public async Task Transport_commands_written_back_into_the_cache_all_the_time_run_nothing_in_fetch_or_push()
    {
        var remote = GitRemote.Create("transport-race");
        var evidence = TempDirectory.Create("evidence");
        var marker = Path.Combine(evidence, "transport-ran");
        var tag = $"299.{Random.Shared.Next(100_000, 999_999)}";
        var writes = $"git config --file \"$0/config\" remote.origin.uploadpack \"touch {marker}; git-upload-pack\" 2>/dev/null; git config --file \"$0/config\" remote.origin.receivepack \"touch {marker}; git-receive-pack\" 2>/dev/null";
        var plant = string.Join("; ",
            "common=$(git rev-parse --git-common-dir)",
            $"(env -i PATH=\"$PATH\" setsid sh -c 'cd /; while :; do {writes}; sleep 0.002; done' \"$common\" {tag} </dev/null >/dev/null 2>&1 &)",
            "until grep -q receivepack \"$common/config\"; do sleep 0.01; done", // the writer is out of reach before the agent ends
            "echo first > first.txt");
        try
        {
            await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
                $"if [ \"$MOSAIC_TASK_ID\" = T-transport-plant ]; then {plant}; else echo next > next.txt; fi");
            var first = await host.SpawnAsync("T-transport-plant", repository: remote.Bare);
            await host.Events.WaitForAsync(first, "agent.cleanup");
            Assert.NotEmpty(Sleepers(tag)); // the writer outlived its agent, as it would
            var second = await host.SpawnAsync("T-transport-next", repository: remote.Bare);
            await host.Events.WaitForAsync(second, "agent.cleanup");

            var status = await host.StatusAsync(second);
            Assert.False(File.Exists(marker), "an upload-pack or receive-pack command written into the cache ran inside the orchestrator's fetch or push");
            Assert.True(status.GetProperty("pushed").GetBoolean(), status.ToString());
            Assert.Equal("next\n", remote.Show(status.GetProperty("branch").GetString()!, "next.txt"));
        }
        finally
        {
            KillSleepers(tag);
        }
    }

    private static void KillSleepers(string argument)
    {
        foreach (var pid in Sleepers(argument))
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
    }

    private static List<int> Sleepers(string argument) =>
        [.. Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => int.TryParse(n, out _)).Select(int.Parse!)
            .Where(pid =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(argument);
                }
                catch (IOException)
                {
                    return false;
                }
            })];

    /// <summary>
    /// A base repository whose .gitmodules has `update = !command` (git refuses that value when it reads .gitmodules)
    /// and a submodule entry: the commit of the agent's work must neither fail on it nor run the command.
    /// </summary>
    [Fact]
    public async Task A_gitmodules_with_an_update_command_neither_fails_the_commit_nor_runs_the_command()
    {
        var remote = GitRemote.Create("submodule-update");
        var evidence = TempDirectory.Create("evidence");
        var marker = Path.Combine(evidence, "update-ran");
        remote.AddSubmoduleEntry("main", "b", $"!touch {marker}");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo 'my work' > work.txt");
        var id = await host.SpawnAsync("T-gitmodules", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");

        var status = await host.StatusAsync(id);
        Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
        Assert.True(status.GetProperty("pushed").GetBoolean());
        Assert.Equal("my work\n", remote.Show(status.GetProperty("branch").GetString()!, "work.txt"));
        Assert.False(File.Exists(marker), "the .gitmodules update command ran");
    }

    [Fact]
    public async Task A_worker_that_switches_branch_still_delivers_its_work_on_its_own_branch()
    {
        var remote = GitRemote.Create("switch");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "git checkout -q -b my-feature && echo hi > hi.txt");
        var id = await host.SpawnAsync("T-switch", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");
        var status = await host.StatusAsync(id);
        Assert.Equal("completed", status.GetProperty("status").GetString());
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Equal(status.GetProperty("headCommit").GetString(), remote.BranchHead(branch));
        Assert.Equal("hi\n", remote.Show(branch, "hi.txt"));
    }

    [Fact]
    public async Task A_worktree_the_agent_deleted_does_not_block_its_next_attempt()
    {
        var remote = GitRemote.Create("vanish");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "if [ \"$MOSAIC_ATTEMPT\" = 1 ]; then chmod -R a-w . ; cd / ; exit 75; fi; date > done.txt";
            s["RETRY_BASE_DELAY_SECONDS"] = "0";
        });
        var id = await host.SpawnAsync("T-vanish", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");
        var status = await host.StatusAsync(id);
        Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
        Assert.Equal(2, status.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task A_worktree_folder_removed_behind_gits_back_does_not_block_the_next_prepare()
    {
        // A crash can leave git's registration of a worktree whose folder the agent deleted: the next attempt's
        // `worktree add` must take the path back without a prune first.
        var remote = GitRemote.Create("removed");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "date > done.txt");
        var id = await host.SpawnAsync("T-removed", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");
        var agent = (await host.Get<Mosaic.Orchestrator.Agents.IAgentStore>().GetAsync(id, default))!;
        var workspaces = host.Get<Mosaic.Orchestrator.Workspaces.IWorkspaceProvider>();

        var first = await workspaces.PrepareAsync(agent, default);
        Directory.Delete(first.Path, recursive: true);
        var second = await workspaces.PrepareAsync(agent, default);

        Assert.Equal(first.Path, second.Path);
        Assert.True(File.Exists(Path.Combine(second.Path, ".git")), "the worktree was added again");
        Assert.True(await workspaces.RemoveAsync(agent, default));
    }

    [Fact]
    public async Task Credentials_in_the_repository_url_reach_neither_the_agents_prompt_nor_the_cache_config()
    {
        var port = 1; // nothing listens: the clone fails; nothing under DATA_DIR may hold the secret all the same
        await using var host = await TestHost.StartAsync(s =>
        {
            s["TASK_MAX_ATTEMPTS"] = "1";
            s["AGENT_COMMAND"] = "cat \"$MOSAIC_PROMPT_FILE\" > prompt-copy.txt";
        });
        var id = await host.SpawnAsync("T-creds", repository: $"https://agent:s3cret-token@127.0.0.1:{port}/x.git");
        await host.Events.WaitForAsync(id, "agent.cleanup");
        foreach (var file in Directory.EnumerateFiles(host.DataDir, "*", SearchOption.AllDirectories).Where(f => !f.Contains(".db", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain("s3cret", await File.ReadAllTextAsync(file));
        }

        Assert.Equal("https://***@127.0.0.1:1/x.git", (await host.StatusAsync(id)).GetProperty("context").GetProperty("repository").GetString());
    }

    [Fact]
    public void The_prompt_names_the_repository_without_its_credentials()
    {
        var agent = new Mosaic.Orchestrator.Agents.AgentRecord
        {
            AgentId = Guid.NewGuid(),
            TaskId = "T",
            AgentType = Mosaic.Orchestrator.Agents.AgentType.Worker,
            GateProfile = Mosaic.Orchestrator.Agents.GateProfile.Standard,
            Priority = 5,
            Context = new Mosaic.Orchestrator.Agents.AgentContext("https://agent:s3cret@git.example.test/a.git", "main", [], []),
            Status = Mosaic.Orchestrator.Agents.AgentStatus.Running,
            TaskState = Mosaic.Orchestrator.Agents.TaskState.Executing,
            SpawnedAt = DateTimeOffset.UnixEpoch,
            MaxAttempts = 1,
        };
        var prompt = Mosaic.Orchestrator.Runtimes.PromptTemplates.BuiltIn.Render(agent);
        Assert.DoesNotContain("s3cret", prompt);
        Assert.Contains("https://***@git.example.test/a.git", prompt);
        var (url, header) = Mosaic.Orchestrator.Workspaces.RepositoryAddress.SplitCredentials(agent.Context.Repository);
        Assert.Equal("https://git.example.test/a.git", url);
        Assert.Equal("Authorization: Basic " + Convert.ToBase64String("agent:s3cret"u8.ToArray()), header);
    }

    [Fact]
    public async Task Git_dirs_a_killed_service_left_in_the_temporary_folder_go_at_start_and_nothing_they_link_to()
    {
        var target = TempDirectory.Create("git-dir-target");
        File.WriteAllText(Path.Combine(target, "object"), "kept");
        using var ended = System.Diagnostics.Process.Start("true")!;
        await ended.WaitForExitAsync();
        string Leftover(string owner, TimeSpan age)
        {
            var path = Path.Combine(Path.GetTempPath(), $"mosaic-git-{owner}{Guid.NewGuid():N}");
            Directory.CreateDirectory(path);
            File.CreateSymbolicLink(Path.Combine(path, "objects"), target);
            Directory.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
            return path;
        }

        var killed = Leftover($"{ended.Id}-", TimeSpan.FromHours(2));
        var unnamed = Leftover("", TimeSpan.FromHours(2)); // named before the pid was part of the name
        var inUse = Leftover($"{Environment.ProcessId}-", TimeSpan.FromHours(2)); // a running process's
        var recent = Leftover($"{ended.Id}-", TimeSpan.Zero); // the pid alone does not decide
        try
        {
            await using var host = await TestHost.StartAsync();

            await Wait.UntilAsync(() => !Directory.Exists(killed) && !Directory.Exists(unnamed), "the leftover git dirs to go", TimeSpan.FromSeconds(20));
            Assert.True(Directory.Exists(inUse));
            Assert.True(Directory.Exists(recent));
            Assert.Equal("kept", File.ReadAllText(Path.Combine(target, "object")));
        }
        finally
        {
            Directory.Delete(inUse, recursive: true);
            Directory.Delete(recent, recursive: true);
        }
    }
}
