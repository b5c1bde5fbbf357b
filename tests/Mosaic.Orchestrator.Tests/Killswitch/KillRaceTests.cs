using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Killswitch;

public sealed class KillRaceTests
{
    [Fact]
    public async Task A_kill_that_lands_while_the_agent_starts_leaves_no_process()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "sleep 300";
            s["KILL_GRACE_SECONDS"] = "1";
        });
        var ids = new List<Guid>();
        for (var round = 0; round < 8; round++)
        {
            var id = await host.SpawnAsync($"T-race-{round}");
            ids.Add(id);
            await host.Events.WaitForAsync(id, "agent.running");
            using var kill = await host.Client.PostAsync($"/agents/{id}/kill", null);
            Assert.Equal(HttpStatusCode.OK, kill.StatusCode);
        }

        foreach (var id in ids)
        {
            await host.Events.WaitForAsync(id, "agent.cleanup");
            await Wait.UntilAsync(() => ProcessTree.FindMembers(new(null, null, AgentMarker.For(id))).Count == 0, $"agent {id}'s processes to end", TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task The_killswitch_is_not_locked_out_by_a_burst_of_spawns()
    {
        await using var host = await TestHost.StartAsync(s =>
        {
            s["RATE_LIMIT_WRITES_PER_SECOND"] = "1";
            s["RATE_LIMIT_WRITES_BURST"] = "2";
            s["AGENT_COMMAND"] = "sleep 300";
        });
        var first = await host.SpawnAsync("T-burst-1");
        await host.SpawnAsync("T-burst-2");
        using var refused = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-burst-3")));
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        using var kill = await host.Client.PostAsync($"/agents/{first}/kill", null);
        Assert.Equal(HttpStatusCode.OK, kill.StatusCode);
        using var killAll = await host.Client.PostAsync("/agents/kill-all", null);
        Assert.Equal(HttpStatusCode.OK, killAll.StatusCode);
    }

    [Fact]
    public async Task A_second_instance_on_the_same_data_dir_refuses_to_start()
    {
        await using var first = await TestHost.StartAsync();
        var settings = TestHost.Defaults(first.DataDir);
        await using var second = TestHost.Build(settings);
        var error = await Assert.ThrowsAsync<Mosaic.Orchestrator.Storage.Embedded.DataDirInUseException>(() => second.StartAsync());
        Assert.Contains("in use by another orchestrator instance", error.Message);
        Assert.Equal("healthy", (await first.Client.GetFromJsonAsync<JsonElement>("/health")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task At_start_processes_of_an_agent_that_already_ended_are_found_by_marker_and_ended()
    {
        var dataDir = TempDirectory.Create("stray");
        var id = await Seed.LeasedTaskAsync(dataDir, "T-stray", "nowhere/none", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(1));
        await using (var database = new Mosaic.Orchestrator.Storage.Embedded.SqliteDatabase(Path.Combine(dataDir, "orchestrator.db")))
        {
            var store = new Mosaic.Orchestrator.Storage.Embedded.EmbeddedAgentStore(database, new Mosaic.Orchestrator.Events.EventBroadcaster());
            var agent = (await store.GetAsync(id, default))!;
            Assert.NotNull(await store.TryReplaceAsync(agent with { Status = Mosaic.Orchestrator.Agents.AgentStatus.Killed, TaskState = Mosaic.Orchestrator.Agents.TaskState.Failed, Lease = null }, agent.Version, null, null, default));
        }

        // What a kill interrupted by a crash leaves: the agent's process, in a session of its own, with its marker.
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false };
        foreach (var argument in new[] { "sh", "-c", "trap '' TERM; sleep 300" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[AgentMarker.Name] = id.ToString();
        using var stray = Process.Start(start)!;
        await Wait.UntilAsync(() => ProcessTree.FindMembers(new(null, null, AgentMarker.For(id))).Count >= 1, "the stray process");

        await using var host = await TestHost.StartAsync(s => s["KILL_GRACE_SECONDS"] = "1", dataDir: dataDir);
        await Wait.UntilAsync(() => stray.HasExited, "the stray process to be ended", TimeSpan.FromSeconds(15));
        Assert.Empty(ProcessTree.FindMembers(new(null, null, AgentMarker.For(id))));
    }
}
