using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Cli;

/// <summary>
/// The client commands as an operator runs them: the built executable in its own process against a real service
/// (TestHost on loopback) running real agents of the command runtime.
/// </summary>
public sealed class ClientCommandsTests
{
    /// <summary>
    /// The agent's behaviour is chosen by its task id: fail-* changes nothing (a worker then fails with no-changes),
    /// slow-* prints a line and waits for a signal file named after its task, every other one prints and commits a file.
    /// </summary>
    private static Task<TestHost> StartHostAsync(string signals) => TestHost.StartAsync(s =>
    {
        s["TASK_MAX_ATTEMPTS"] = "1";
        s["AGENT_COMMAND"] =
            "case \"$MOSAIC_TASK_ID\" in " +
            "fail-*) echo nothing-to-do; exit 0;; " +
            $"slow-*) echo started; while [ ! -f '{signals}'/\"$MOSAIC_TASK_ID\" ]; do sleep 0.05; done;; " +
            "esac; echo working; date +%s%N > agent-output.txt";
    });

    private static Task<ServiceProcess> RunAsync(TestHost host, params string[] args) =>
        ServiceProcess.RunAsync([.. args, "--url", host.BaseAddress.ToString()]);

    [Fact]
    public async Task Spawn_wait_exits_0_on_completion_and_1_on_failure_and_list_status_logs_and_diff_read_back()
    {
        await using var host = await StartHostAsync(TempDirectory.Create("signals"));
        var repository = GitRemote.Default.Bare;
        var completing = RunAsync(host, "spawn", "--task-id", "ok-1", "--repository", repository, "--work-item", "US-1", "--skill", "csharp", "--priority", "3", "--wait");
        var failing = RunAsync(host, "spawn", "--task-id", "fail-1", "--repository", repository, "--branch", "main", "--wait");
        await using var completed = await completing;
        await using var failed = await failing;

        Assert.True(completed.ExitCode == 0, completed.Output + completed.Error);
        var lines = completed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith(" spawning", lines[0]);
        var agentId = lines[0].Split(' ')[0];
        Assert.Contains(lines, l => l.Contains("agent.completed", StringComparison.Ordinal) || l == $"{agentId} completed");
        Assert.True(failed.ExitCode == 1, failed.Output + failed.Error);
        Assert.Contains("fail", failed.Output);

        await using var list = await RunAsync(host, "list", "--task-id", "ok-1", "--json");
        Assert.True(list.ExitCode == 0, list.Error);
        var item = JsonDocument.Parse(list.Output).RootElement.GetProperty("items").EnumerateArray().Single();
        Assert.Equal(agentId, item.GetProperty("agentId").GetString());
        Assert.Equal("completed", item.GetProperty("status").GetString());
        Assert.Equal(3, item.GetProperty("priority").GetInt32());
        Assert.Equal(["US-1"], item.GetProperty("context").GetProperty("workItems").EnumerateArray().Select(w => w.GetString()));

        await using var status = await RunAsync(host, "status", agentId, "--json");
        Assert.True(status.ExitCode == 0, status.Error);
        Assert.Equal("completed", JsonDocument.Parse(status.Output).RootElement.GetProperty("status").GetString());

        await using var plain = await RunAsync(host, "status", agentId);
        Assert.Contains("status: completed", plain.Output);

        await using var logs = await RunAsync(host, "logs", agentId);
        Assert.True(logs.ExitCode == 0, logs.Error);
        Assert.Equal("working\n", logs.Output);

        await using var diff = await RunAsync(host, "diff", agentId);
        Assert.True(diff.ExitCode == 0, diff.Error);
        Assert.Contains("+++ b/agent-output.txt", diff.Output);
    }

    [Fact]
    public async Task Logs_follow_to_the_end_watch_prints_events_and_kill_kills_once()
    {
        var signals = TempDirectory.Create("signals");
        await using var host = await StartHostAsync(signals);
        var following = await host.SpawnAsync("slow-follow");
        await using (var logs = ServiceProcess.Start(["logs", following.ToString(), "-f", "--url", host.BaseAddress.ToString()]))
        await using (var watch = ServiceProcess.Start(["watch", "--agent", following.ToString(), "--url", host.BaseAddress.ToString()]))
        {
            await Wait.UntilAsync(() => logs.Output.Contains("started\n", StringComparison.Ordinal), "the followed log's first line", TimeSpan.FromSeconds(60));
            await File.WriteAllTextAsync(Path.Combine(signals, "slow-follow"), "go");
            await logs.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.True(logs.ExitCode == 0, logs.Error);
            Assert.Equal("started\nworking\n", logs.Output);
            Assert.Contains("completed", logs.Error);

            await Wait.UntilAsync(() => watch.Output.Contains(" agent.completed ", StringComparison.Ordinal), "watch to print the end", TimeSpan.FromSeconds(60));
            Assert.Contains($" agent.running {following} slow-follow", watch.Output);
        }

        var victim = await host.SpawnAsync("slow-kill");
        await Wait.UntilAsync(async () => (await host.StatusAsync(victim)).GetProperty("status").GetString() == "running", "the agent to run");
        await using var kill = await RunAsync(host, "kill", victim.ToString(), "--reason", "from the cli");
        Assert.True(kill.ExitCode == 0, kill.Error);
        Assert.Contains("killed", kill.Output);
        Assert.Equal("killed", (await host.StatusAsync(victim)).GetProperty("status").GetString());

        await using var again = await RunAsync(host, "kill", victim.ToString());
        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"Agent {victim} is already killed", again.Error);
        Assert.Contains("(HTTP 409)", again.Error);
    }

    [Fact]
    public async Task Spawn_without_wait_list_in_plain_lines_watch_everything_and_kill_all()
    {
        var signals = TempDirectory.Create("signals");
        await using var host = await StartHostAsync(signals);
        await using var watch = ServiceProcess.Start(["watch", "--url", host.BaseAddress.ToString()]);
        await Wait.UntilAsync(() => watch.Error.Contains("watching every agent's events", StringComparison.Ordinal), "watch to subscribe", TimeSpan.FromSeconds(60));
        await using var spawned = await RunAsync(host, "spawn", "--task-id", "slow-all-1", "--repository", GitRemote.Default.Bare, "--type", "worker");
        Assert.True(spawned.ExitCode == 0, spawned.Error);
        var first = Guid.Parse(spawned.Output.Split(' ')[0]);
        var second = await host.SpawnAsync("slow-all-2");
        foreach (var id in new[] { first, second })
        {
            await Wait.UntilAsync(async () => (await host.StatusAsync(id)).GetProperty("status").GetString() == "running", "both agents to run");
        }

        await using var list = await RunAsync(host, "list", "--status", "running");
        Assert.True(list.ExitCode == 0, list.Error);
        Assert.Equal(2, list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains($"{first}  running  slow-all-1  worker  ", list.Output);
        Assert.Contains("2 of 2 agent(s)", list.Error);

        await using var killAll = await RunAsync(host, "kill-all", "--reason", "end of the day");
        Assert.True(killAll.ExitCode == 0, killAll.Output + killAll.Error);
        Assert.Contains("Kill all completed: 2 killed, 0 failed", killAll.Output);
        await Wait.UntilAsync(() => watch.Output.Contains($" agent.killed {second} ", StringComparison.Ordinal), "watch to see every agent's end", TimeSpan.FromSeconds(60));
        Assert.Contains($" agent.spawned {first} slow-all-1", watch.Output);

        await using var again = await RunAsync(host, "kill-all", "--json");
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Equal(0, JsonDocument.Parse(again.Output).RootElement.GetProperty("total").GetInt32());

        await using var unknown = await RunAsync(host, "status", Guid.NewGuid().ToString());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("(HTTP 404)", unknown.Error);
    }

    [Fact]
    public async Task Usage_errors_exit_2_problems_exit_1_with_their_field_errors_and_an_unreachable_service_exits_3()
    {
        await using (var usage = await ServiceProcess.RunAsync(["spawn", "--repository", "x"]))
        {
            Assert.Equal(2, usage.ExitCode);
            Assert.Contains("--task-id is required", usage.Error);
            Assert.Contains("usage: mosaic-orchestrator spawn", usage.Error);
        }

        await using (var usage = await ServiceProcess.RunAsync(["spawn", "--task-id", "T", "--repository", "x", "--priority", "high"]))
        {
            Assert.Equal(2, usage.ExitCode);
            Assert.Contains("--priority must be a whole number (got 'high')", usage.Error);
        }

        await using (var usage = await ServiceProcess.RunAsync(["list", "--url", "ftp://example"]))
        {
            Assert.Equal(2, usage.ExitCode);
        }

        // Nothing listens on port 1 of loopback: refused at once.
        await using (var unreachable = await ServiceProcess.RunAsync(["list"], new Dictionary<string, string?> { ["MOSAIC_URL"] = "http://127.0.0.1:1" }))
        {
            Assert.Equal(3, unreachable.ExitCode);
            Assert.Contains("cannot reach the service at http://127.0.0.1:1/", unreachable.Error);
        }

        await using var host = await TestHost.StartAsync(s => s["ORCHESTRATOR_API_KEY"] = "0123456789abcdef-cli-key", withoutWorker: true);
        await using (var refused = await RunAsync(host, "list"))
        {
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("(HTTP 401)", refused.Error);
        }

        await using (var invalid = await ServiceProcess.RunAsync(["list", "--status", "sleeping", "--url", host.BaseAddress.ToString()],
            new Dictionary<string, string?> { ["MOSAIC_API_KEY"] = "0123456789abcdef-cli-key" }))
        {
            Assert.Equal(1, invalid.ExitCode);
            Assert.Contains("Invalid query parameters: status (HTTP 400)", invalid.Error);
            Assert.Contains("  status: must be one of spawning, running, completed, failed, killed", invalid.Error);
        }

        await using var empty = await RunAsync(host, "list", "--api-key", "0123456789abcdef-cli-key");
        Assert.True(empty.ExitCode == 0, empty.Error);
        Assert.Contains("0 of 0 agent(s)", empty.Error);
    }
}
