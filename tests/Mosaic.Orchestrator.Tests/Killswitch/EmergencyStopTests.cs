using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Queue;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Killswitch;

/// <summary>POST /agents/emergency-stop: every push refused, the queue paused, every live agent killed, until resume.</summary>
public sealed class EmergencyStopTests
{
    [Fact]
    public async Task Emergency_stop_kills_every_agent_keeps_their_work_pauses_and_refuses_pushes_until_resume()
    {
        var remote = GitRemote.Create("emergency");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo \"$MOSAIC_TASK_ID\" > work.txt; if [ \"$MOSAIC_TASK_ID\" != T-after ]; then touch \"$(dirname \"$MOSAIC_PROMPT_FILE\")/ready\"; sleep 60; fi";
            s["MAX_CONCURRENT_AGENTS"] = "2";
        });
        var running = new[] { await host.SpawnAsync("T-one", repository: remote.Bare), await host.SpawnAsync("T-two", repository: remote.Bare) };
        foreach (var id in running)
        {
            await Wait.UntilAsync(() => File.Exists(Path.Combine(host.DataDir, "agents", id.ToString(), "ready")), "both agents to work");
        }

        using var stop = await host.Client.PostAsync("/agents/emergency-stop", TestHost.Json("""{"reason":"drill"}"""));
        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        var answer = await stop.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((2, 2), (answer.GetProperty("total").GetInt32(), answer.GetProperty("killed").GetInt32()));
        Assert.True(answer.GetProperty("stats").GetProperty("paused").GetBoolean());
        Assert.True(answer.GetProperty("stats").GetProperty("emergencyStop").GetBoolean());
        foreach (var id in running)
        {
            await host.Events.WaitForAsync(id, "agent.cleanup");
            var killed = await host.StatusAsync(id);
            Assert.Equal("killed", killed.GetProperty("status").GetString());
            Assert.Equal($"{killed.GetProperty("taskId").GetString()}\n", remote.Show(killed.GetProperty("wipBranch").GetString()!, "work.txt"));
        }

        // A spawn meanwhile waits in the paused queue.
        var after = await host.SpawnAsync("T-after", repository: remote.Bare);
        var audit = await host.Client.GetFromJsonAsync<JsonElement>("/agents/audit");
        Assert.Contains("emergency-stop", audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        Assert.Equal("spawning", (await host.StatusAsync(after)).GetProperty("status").GetString());

        using (await host.Client.PostAsync("/agents/queue/resume", null))
        {
        }

        await host.Events.WaitForAsync(after, "agent.cleanup");
        var done = await host.StatusAsync(after);
        Assert.True(done.GetProperty("status").GetString() == "completed", done.GetRawText());
        Assert.True(done.GetProperty("pushed").GetBoolean());
        Assert.False(await host.Get<IQueueAdmin>().IsEmergencyStoppedAsync(default));
    }

    [Fact]
    public async Task While_pushes_are_refused_an_agent_that_reaches_its_push_fails_and_keeps_its_work()
    {
        var remote = GitRemote.Create("emergency-push");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo done > done.txt");
        // Another instance's emergency stop: the flag is in the shared store, the local queue still leases.
        await host.Get<IQueueAdmin>().SetEmergencyStopAsync(true, default);
        var id = await host.SpawnAsync("T-refused", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup");

        var status = await host.StatusAsync(id);
        Assert.Equal("emergency-stop", status.GetProperty("reason").GetString());
        Assert.Null(remote.BranchHead(status.GetProperty("branch").GetString()!));
        Assert.Equal("done\n", remote.Show(status.GetProperty("wipBranch").GetString()!, "done.txt"));
    }
}
