using System.Net.Http.Json;
using Docker.DotNet.Models;
using System.Text.Json;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Sandbox;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Sandbox;

/// <summary>
/// Agents in the real Docker sandbox, through HTTP: test.sh starts an engine when none answers and builds the image;
/// DOCKER_SOCKET names the engine (default /var/run/docker.sock).
/// </summary>
[Collection(SandboxEngine.Collection)]
public sealed class SandboxTests
{
    [DockerFact]
    public async Task A_benign_agent_runs_as_the_sandbox_user_and_its_work_is_committed_and_pushed()
    {
        var remote = GitRemote.Create("sandbox-benign");
        await using var host = await TestHost.StartAsync(s => SandboxEngine.Configure(s,
            "id -u > uid.txt && git status --porcelain > status.txt && echo sandboxed > note.txt && git add note.txt && git commit -qm 'agent commit'"));
        var id = await host.SpawnAsync("T-sbx-benign", repository: remote.Bare);
        var completed = await host.Events.WaitForAsync(id, "agent.completed", TimeSpan.FromSeconds(60));

        var status = await host.StatusAsync(id);
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Equal("10001", remote.Show(branch, "uid.txt").Trim());
        Assert.Equal("sandboxed", remote.Show(branch, "note.txt").Trim());
        // The agent's own commit is kept under the service's commit of what it left.
        Assert.Contains("|agent commit", remote.Log(branch));
        Assert.Empty(await SandboxEngine.ContainersOfAsync(host, id));
        Assert.NotNull(completed);
    }

    [DockerFact]
    public async Task A_hostile_agent_gets_nowhere_and_the_service_stays_healthy()
    {
        var remote = GitRemote.Create("sandbox-hostile");
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        const string key = "sandbox-api-key-0123456789";
        var dataDir = TempDirectory.Create("sbx-data");
        var script = $$"""
            check() { if sh -c "$2" >/dev/null 2>&1; then echo "$1: ESCAPED"; else echo "$1: refused"; fi; }
            {
            check read-store 'test -n "$(cat {{dataDir}}/orchestrator.db)"'
            check read-logs 'cat {{dataDir}}/agents/*/attempt-1.log'
            check read-cache 'ls -d {{dataDir}}/repos/*/objects'
            check read-secrets 'grep -a -q {{key}} /proc/*/environ'
            check write-root 'echo x > /etc/evil'
            check write-data 'echo x > {{dataDir}}/evil'
            check host-loopback 'curl -sf -m 3 http://127.0.0.1:{{port}}/'
            check host-direct 'curl -sf -m 3 --noproxy "*" http://127.0.0.1:{{port}}/'
            check push-remote 'git push -q {{remote.Bare}} HEAD:refs/heads/evil'
            check read-ssh 'ls /root/.ssh'
            check be-root 'test "$(id -u)" = 0'
            } > results.txt
            env | sort > env.txt
            """;
        await using var host = await TestHost.StartAsync(s =>
        {
            SandboxEngine.Configure(s, script);
            s["ORCHESTRATOR_API_KEY"] = key;
        }, dataDir: dataDir);
        host.Client.DefaultRequestHeaders.Add("X-API-Key", key);
        var id = await host.SpawnAsync("T-sbx-hostile", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.completed", TimeSpan.FromSeconds(60));

        var branch = (await host.StatusAsync(id)).GetProperty("branch").GetString()!;
        var results = remote.Show(branch, "results.txt");
        Assert.Equal(11, results.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("ESCAPED", results);
        Assert.DoesNotContain(key, remote.Show(branch, "env.txt"));
        Assert.Null(remote.BranchHead("evil"));
        Assert.False(File.Exists(Path.Combine(dataDir, "evil")));
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/health/ready")).StatusCode);
    }

    [DockerFact]
    public async Task Links_the_agent_or_its_repository_plants_never_hand_host_files_to_the_sandbox_user()
    {
        var hostFolder = TempDirectory.Create("sbx-host-owned");
        var hostFile = Path.Combine(hostFolder, "root-owned.txt");
        File.WriteAllText(hostFile, "the service's");
        var remote = GitRemote.Create("sandbox-links");
        // The base branch holds a link to the host folder; the agent plants another in its TMPDIR and HOME.
        remote.CommitFiles("main", new Dictionary<string, string> { ["placeholder.txt"] = "x" }, "base");
        var seed = Path.Combine(TempDirectory.Create("sbx-links-seed"), "seed");
        GitRemote.Git(Path.GetDirectoryName(seed)!, "clone", "--quiet", remote.Bare, seed);
        File.CreateSymbolicLink(Path.Combine(seed, "host-link"), hostFolder);
        GitRemote.Git(seed, "add", "host-link");
        GitRemote.Git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "a link out");
        GitRemote.Git(seed, "push", "--quiet", "origin", "HEAD:main");
        await using var host = await TestHost.StartAsync(s => SandboxEngine.Configure(s,
            $"ln -s {hostFolder} \"$TMPDIR/out\" && ln -s {hostFolder} \"$HOME/out\" && echo done > done.txt"));
        var id = await host.SpawnAsync("T-sbx-links", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.completed", TimeSpan.FromSeconds(60));

        // Runs after the agent's (the commit, here) handed its TMPDIR and HOME to the sandbox user again.
        Assert.Equal(0, OwnerOf(hostFolder));
        Assert.Equal(0, OwnerOf(hostFile));

        static long OwnerOf(string path) => long.Parse(Stat(path), System.Globalization.CultureInfo.InvariantCulture);

        static string Stat(string path)
        {
            using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
            var owner = stat.StandardOutput.ReadToEnd().Trim();
            stat.WaitForExit();
            return owner;
        }
    }

    [DockerFact]
    public async Task Gate_commands_run_in_the_sandbox_and_cannot_read_the_service_s_files()
    {
        var remote = GitRemote.Create("sandbox-gates");
        var dataDir = TempDirectory.Create("sbx-gates");
        // Passes only where the store cannot be seen and the uid is the sandbox's; the lint gate tries to read the store.
        var gates = $$"""
            gates:
              tests: 'test ! -e {{dataDir}}/orchestrator.db && test "$(id -u)" = 10001 && echo gate-in-sandbox'
            """;
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = gates }, "declare gates");
        await using var host = await TestHost.StartAsync(s => SandboxEngine.Configure(s, "echo change > feature.txt"), dataDir: dataDir);
        var id = await host.SpawnAsync("T-sbx-gates", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.completed", TimeSpan.FromSeconds(90));
        var log = File.ReadAllText(Directory.EnumerateFiles(Path.Combine(dataDir, "agents", id.ToString()), "gate-tests-*.log").Single());
        Assert.Contains("gate-in-sandbox", log);

        remote.CommitFiles("main", new Dictionary<string, string>
        {
            [".mosaic/gates.yml"] = $$"""
                gates:
                  tests: 'cat {{dataDir}}/orchestrator.db > /dev/null'
                """,
        }, "a gate that reads the store");
        var nosy = await host.SpawnAsync("T-sbx-nosy-gate", repository: remote.Bare);
        await host.Events.WaitForAsync(nosy, "agent.failed", TimeSpan.FromSeconds(90));
        Assert.Equal("gate-failed:tests", (await host.StatusAsync(nosy)).GetProperty("reason").GetString());
    }

    [DockerFact]
    public async Task Kill_stops_the_container_and_no_process_survives_even_one_that_left_the_session_and_its_environment()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            SandboxEngine.Configure(s, "setsid env -i sleep 31337 & trap '' TERM; echo up > ready.txt; while true; do sleep 1; done");
            s["SANDBOX_STOP_TIMEOUT_SECONDS"] = "1";
        });
        var id = await host.SpawnAsync("T-sbx-kill");
        var worktree = await host.WorktreeOfAsync(id);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(worktree, "ready.txt")), "the agent to start", TimeSpan.FromSeconds(60));
        Assert.Single(await SandboxEngine.ContainersOfAsync(host, id));
        Assert.NotEmpty(Escaped());

        using var response = await host.Client.PostAsync($"/agents/{id}/kill", TestHost.Json("""{"reason":"stop"}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(30));
        Assert.Empty(await SandboxEngine.ContainersOfAsync(host, id));
        await Wait.UntilAsync(() => Escaped().Count == 0, "the escaped sleep to end with its container", TimeSpan.FromSeconds(10));
        Assert.False(Directory.Exists(worktree));

        static List<int> Escaped() => SandboxEngine.ProcessesRunning("sleep 31337");
    }

    [DockerFact]
    public async Task Kill_all_leaves_no_container_and_no_process_of_any_sandboxed_agent()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            SandboxEngine.Configure(s, "echo up > ready.txt; sleep 31338 & sleep 300");
            s["SANDBOX_STOP_TIMEOUT_SECONDS"] = "1";
        });
        var ids = new[] { await host.SpawnAsync("T-sbx-all-1"), await host.SpawnAsync("T-sbx-all-2") };
        foreach (var id in ids)
        {
            var worktree = await host.WorktreeOfAsync(id);
            await Wait.UntilAsync(() => File.Exists(Path.Combine(worktree, "ready.txt")), "both agents to start", TimeSpan.FromSeconds(60));
        }

        Assert.NotEmpty(SandboxEngine.ProcessesRunning("sleep 31338"));
        using var response = await host.Client.PostAsync("/agents/kill-all", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        foreach (var id in ids)
        {
            await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(30));
            Assert.Empty(await SandboxEngine.ContainersOfAsync(host, id));
        }

        Assert.Empty(SandboxEngine.ProcessesRunning("sleep 31338"));
    }

    [DockerFact]
    public async Task At_start_a_container_left_by_a_crashed_instance_is_removed_and_its_agent_recovered()
    {
        var dataDir = TempDirectory.Create("sbx-crash");
        var id = await Seed.LeasedTaskAsync(dataDir, "T-sbx-crash", $"{Environment.MachineName}/gone", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5));
        var leaked = await LocalDocker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = "mosaic-agent:latest",
            Cmd = ["sleep", "300"],
            Labels = new Dictionary<string, string> { [ContainerAgentProcesses.AgentLabel] = id.ToString(), [ContainerAgentProcesses.NodeLabel] = Environment.MachineName },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        await LocalDocker.Client.Containers.StartContainerAsync(leaked.ID, new ContainerStartParameters());

        await using var host = await TestHost.StartAsync(s => SandboxEngine.Configure(s, "echo recovered > recovered.txt"), dataDir: dataDir);
        var retrying = await host.Events.WaitForAsync(id, "agent.retrying", TimeSpan.FromSeconds(30));
        Assert.Equal("orchestrator-restart", retrying.Data!.Value.GetProperty("reason").GetString());
        Assert.DoesNotContain(await SandboxEngine.ContainersOfAsync(host, id), c => c.ID == leaked.ID);
        await host.Events.WaitForAsync(id, "agent.completed", TimeSpan.FromSeconds(60));
    }

    [DockerFact]
    public async Task An_agent_past_its_memory_limit_fails_as_sandbox_oom()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            SandboxEngine.Configure(s, "python3 -c 'x = bytearray(512 * 1024 * 1024); print(len(x))'");
            s["SANDBOX_MEMORY"] = "64m";
        });
        var id = await host.SpawnAsync("T-sbx-oom");
        await host.Events.WaitForAsync(id, "agent.failed", TimeSpan.FromSeconds(60));
        var status = await host.StatusAsync(id);
        Assert.Equal("sandbox-oom", status.GetProperty("reason").GetString());
        Assert.Empty(await SandboxEngine.ContainersOfAsync(host, id));
    }

    [DockerFact]
    public async Task A_fork_bomb_stays_inside_its_pids_limit_and_the_service_stays_healthy()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            // The agent's own shell becomes the sleep (exec, no fork): a "sleep" started after the bomb could find
            // the pids limit reached, and the shell would end the run before the test looks.
            SandboxEngine.Configure(s, "echo up > ready.txt; (bomb() { bomb | bomb & }; bomb) & exec sleep 300");
            s["SANDBOX_PIDS"] = "64";
            s["SANDBOX_STOP_TIMEOUT_SECONDS"] = "1";
        });
        var id = await host.SpawnAsync("T-sbx-bomb");
        var worktree = await host.WorktreeOfAsync(id);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(worktree, "ready.txt")), "the bomb to start", TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var marker = new ProcessTreeSelector(null, null, AgentMarker.For(id));
        Assert.InRange(ProcessTree.FindMembers(marker).Count, 1, 64);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/health/ready")).StatusCode);

        using var kill = await host.Client.PostAsync($"/agents/{id}/kill", TestHost.Json("""{"reason":"bomb"}"""));
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(30));
        Assert.Empty(await SandboxEngine.ContainersOfAsync(host, id));
        Assert.Empty(ProcessTree.FindMembers(marker));
    }

    [DockerFact]
    public async Task Without_the_image_readiness_fails_and_an_accepted_agent_fails_as_sandbox_unavailable_without_running()
    {
        var image = $"mosaic-agent:test-{Guid.NewGuid():N}";
        var (repository, tag) = (image[..image.IndexOf(':')], image[(image.IndexOf(':') + 1)..]);
        await LocalDocker.Client.Images.TagImageAsync("mosaic-agent:latest", new ImageTagParameters { RepositoryName = repository, Tag = tag });
        await using var host = await TestHost.StartAsync(s =>
        {
            SandboxEngine.Configure(s, "touch ran.txt");
            s["SANDBOX_IMAGE"] = image;
        });
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var id = await host.SpawnAsync("T-sbx-noimage");
        var worktree = await host.WorktreeOfAsync(id);
        await LocalDocker.Client.Images.DeleteImageAsync(image, new ImageDeleteParameters());
        using (var ready = await host.Client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            var body = await ready.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("sandbox", body.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        }

        using (await host.Client.PostAsync("/agents/queue/resume", null))
        {
        }

        await host.Events.WaitForAsync(id, "agent.failed", TimeSpan.FromSeconds(30));
        var status = await host.StatusAsync(id);
        Assert.Equal("sandbox-unavailable", status.GetProperty("reason").GetString());
        Assert.Contains(image, status.GetProperty("error").GetString());
        Assert.False(File.Exists(Path.Combine(worktree, "ran.txt")));
    }
}
