using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Agents;

public sealed class RestartTests
{
    [Fact]
    public async Task After_a_graceful_restart_queued_and_interrupted_tasks_continue_without_spending_an_attempt()
    {
        var dataDir = TempDirectory.Create("restart");
        Guid running, queued;
        int[] firstTree;
        await using (var first = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "sleep 300";
            s["MAX_CONCURRENT_AGENTS"] = "1";
            s["KILL_GRACE_SECONDS"] = "1";
        }, dataDir: dataDir))
        {
            running = await first.SpawnAsync("T-interrupted", priority: 9);
            await first.Events.WaitForAsync(running, "agent.running");
            queued = await first.SpawnAsync("T-waiting");
            await Wait.UntilAsync(() => ProcessTree.FindMembers(new(null, null, AgentMarker.For(running))).Count > 0, "the agent process");
            firstTree = [.. ProcessTree.FindMembers(new(null, null, AgentMarker.For(running))).Select(p => p.Pid)];
            await first.StopAsync();
            var retry = first.Events.For(running).SingleOrDefault(e => e.Type == "agent.retrying");
            Assert.Equal("shutdown", retry?.Data?.GetProperty("reason").GetString());
        }

        Assert.All(firstTree, pid => Assert.False(ProcessTable.IsAlive(pid)));
        await using var second = await TestHost.StartAsync(dataDir: dataDir);
        await second.Events.WaitForAsync(running, "agent.completed");
        await second.Events.WaitForAsync(queued, "agent.completed");
        Assert.Equal(1, (await second.StatusAsync(running)).GetProperty("attempt").GetInt32());
        Assert.Equal(1, (await second.StatusAsync(queued)).GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task After_a_crash_the_next_start_ends_the_orphaned_processes_and_retries_the_task()
    {
        var dataDir = TempDirectory.Create("crash");
        var port = Loopback.FreePort();
        var service = Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(service);
        start.Environment["DATA_DIR"] = dataDir;
        start.Environment["ORCHESTRATOR_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["AGENT_RUNTIME"] = "command";
        start.Environment["AGENT_COMMAND"] = "trap '' TERM; sleep 300";
        start.Environment["ALLOW_LOCAL_REPOSITORIES"] = "true";
        start.Environment.Remove("ORCHESTRATOR_API_KEY");
        using var crashing = Process.Start(start)!;
        var output = Task.WhenAll(crashing.StandardOutput.ReadToEndAsync(), crashing.StandardError.ReadToEndAsync());
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Guid id;
        int[] orphans;
        try
        {
            await Wait.UntilAsync(async () =>
            {
                try
                {
                    using var health = await client.GetAsync("/health");
                    return health.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the service to listen");
            using var spawn = await client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-crash")));
            id = (await spawn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("agentId").GetGuid();
            var marker = new ProcessTreeSelector(null, null, AgentMarker.For(id));
            await Wait.UntilAsync(() => ProcessTree.FindMembers(marker).Count >= 2, "the agent's processes");
            orphans = [.. ProcessTree.FindMembers(marker).Select(p => p.Pid)];
        }
        finally
        {
            crashing.Kill(); // SIGKILL: no shutdown, no cleanup
            await crashing.WaitForExitAsync();
            await output;
        }

        Assert.All(orphans, pid => Assert.True(ProcessTable.IsAlive(pid), "the crash left the agent running"));

        await using var recovered = await TestHost.StartAsync(s =>
        {
            s["RETRY_BASE_DELAY_SECONDS"] = "0";
            s["KILL_GRACE_SECONDS"] = "1";
        }, dataDir: dataDir);
        var retry = await recovered.Events.WaitForAsync(id, "agent.retrying");
        Assert.Equal("orchestrator-restart", retry.Data!.Value.GetProperty("reason").GetString());
        Assert.All(orphans, pid => Assert.False(ProcessTable.IsAlive(pid), $"orphan {pid} survived the restart"));
        await recovered.Events.WaitForAsync(id, "agent.completed");
        var status = await recovered.StatusAsync(id);
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.Equal(2, status.GetProperty("attempt").GetInt32());
        var audit = await recovered.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("action").GetString() == "recover" && e.GetProperty("agentId").GetGuid() == id);
    }


    [Fact]
    public async Task A_task_interrupted_by_crashes_more_often_than_its_attempts_fails_with_a_clear_reason()
    {
        var dataDir = TempDirectory.Create("exhaust");
        // A dead instance of this node held the task's only attempt.
        var id = await Seed.LeasedTaskAsync(dataDir, "T-exhaust", $"{Environment.MachineName}/gone", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5), maxAttempts: 1);

        await using var second = await TestHost.StartAsync(dataDir: dataDir);
        var failed = await second.Events.WaitForAsync(id, "agent.failed");
        Assert.Equal("attempts-exhausted", failed.Data!.Value.GetProperty("reason").GetString());
        var status = await second.StatusAsync(id);
        Assert.Contains("orchestrator-restart", status.GetProperty("error").GetString());
        Assert.Equal(1, status.GetProperty("attempt").GetInt32());
        await second.Events.WaitForAsync(id, "agent.cleanup");
    }
}
