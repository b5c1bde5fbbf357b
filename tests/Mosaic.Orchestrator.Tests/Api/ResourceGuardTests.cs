using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

/// <summary>What the service does when its ground goes: the store's file removed, DATA_DIR nearly full (real files, real HTTP).</summary>
public sealed class ResourceGuardTests
{
    [Fact]
    public async Task A_store_file_removed_under_the_service_fails_readiness_and_refuses_spawns()
    {
        await using var host = await TestHost.StartAsync();
        foreach (var file in Directory.EnumerateFiles(host.DataDir, "orchestrator.db*").Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
        {
            File.Delete(file);
        }

        using var ready = await host.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("store", body.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("was removed while the service ran", body.GetProperty("checks").GetProperty("store").GetProperty("detail").GetString());

        using var spawn = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-no-store")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, spawn.StatusCode);
        Assert.Contains("store", (await spawn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Below_the_disk_floor_readiness_fails_and_a_spawn_waits_instead_of_starting()
    {
        await using var host = await TestHost.StartAsync(s => s["DISK_MIN_FREE_MB"] = "10000000"); // more than any disk here has
        using var ready = await host.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var detail = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("disk").GetProperty("detail").GetString();
        Assert.Contains("below DISK_MIN_FREE_MB (10000000)", detail);

        var id = await host.SpawnAsync("T-no-room");
        var worker = host.Services.GetServices<IHostedService>().OfType<AgentWorker>().Single();
        var passes = worker.Passes;
        await Wait.UntilAsync(() => worker.Passes >= passes + 2, "the worker to look at the queue twice");
        Assert.Equal("spawning", (await host.StatusAsync(id)).GetProperty("status").GetString());
    }
}
