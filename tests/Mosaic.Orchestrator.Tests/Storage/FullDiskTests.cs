using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Storage;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Storage;

/// <summary>
/// DATA_DIR on a real file system that fills up (tmpfs of a few MB): spawn and kill on a full disk, a restart on a
/// full disk, and an agent that fills the disk itself.
/// </summary>
public sealed class FullDiskTests
{
    [Fact]
    public async Task Spawn_and_kill_on_a_full_disk_answer_507_with_a_detail_and_store_nothing()
    {
        using var disk = SmallDisk.TryMount(24);
        if (disk is null)
        {
            return; // not root: no tmpfs to fill (CI runs as root)
        }

        await using var host = await TestHost.StartAsync(s =>
        {
            s["DISK_MIN_FREE_MB"] = "0";
            s["DISK_RESERVE_MB"] = "0";
        }, dataDir: Path.Combine(disk.Path, "data"), withoutWorker: true);
        var id = await host.SpawnAsync("T-before-full");
        disk.Fill();

        using var spawn = await host.Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody("T-full")));
        var spawnBody = await spawn.Content.ReadAsStringAsync();
        Assert.True(spawn.StatusCode == HttpStatusCode.InsufficientStorage, spawnBody);
        Assert.Contains("disk is full", JsonDocument.Parse(spawnBody).RootElement.GetProperty("detail").GetString());

        using var kill = await host.Client.PostAsync($"/agents/{id}/kill", null);
        Assert.Equal(HttpStatusCode.InsufficientStorage, kill.StatusCode);
        Assert.Equal("spawning", (await host.StatusAsync(id)).GetProperty("status").GetString());
        using var list = await host.Client.GetAsync("/agents?taskId=T-full");
        Assert.Equal(0, (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task The_service_restarts_on_a_full_disk_and_its_reserve_lets_a_kill_through()
    {
        using var disk = SmallDisk.TryMount(32);
        if (disk is null)
        {
            return;
        }

        var dataDir = Path.Combine(disk.Path, "data");
        void Settings(Dictionary<string, string?> s)
        {
            s["DISK_MIN_FREE_MB"] = "8"; // above what the given-up reserve frees
            s["DISK_RESERVE_MB"] = "4";
        }

        Guid id;
        await using (var first = await TestHost.StartAsync(Settings, dataDir: dataDir, withoutWorker: true))
        {
            id = await first.SpawnAsync("T-restart-full");
            using var ready = await first.Client.GetAsync("/health/ready"); // a look at the disk writes the reserve
            Assert.True(File.Exists(Path.Combine(dataDir, StoreReserve.FileName)));
        }

        disk.Fill();
        await using var second = await TestHost.StartAsync(Settings, dataDir: dataDir, withoutWorker: true);
        using (var ready = await second.Client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("disk", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        }

        using var kill = await second.Client.PostAsync($"/agents/{id}/kill", null);
        Assert.Equal(HttpStatusCode.OK, kill.StatusCode);
        Assert.Equal("killed", (await second.StatusAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_agent_that_fills_DATA_DIR_ends_disk_full_and_its_worktree_is_removed()
    {
        using var disk = SmallDisk.TryMount(64);
        if (disk is null)
        {
            return;
        }

        await using var host = await TestHost.StartAsync(s =>
        {
            s["DISK_MIN_FREE_MB"] = "16";
            s["DISK_RESERVE_MB"] = "4";
            // Writes until the disk is full, then waits as a runaway agent would.
            s["AGENT_COMMAND"] = "head -c 200000000 /dev/zero > fill.bin; sleep 60";
        }, dataDir: Path.Combine(disk.Path, "data"));
        var id = await host.SpawnAsync("T-fills-disk");
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));

        var status = await host.StatusAsync(id);
        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal("disk-full", status.GetProperty("reason").GetString());
        Assert.Contains("DISK_MIN_FREE_MB (16)", status.GetProperty("error").GetString());
        Assert.False(Directory.Exists(await host.WorktreeOfAsync(id)), "the worktree is removed");
        await Wait.UntilAsync(async () =>
        {
            using var ready = await host.Client.GetAsync("/health/ready");
            return ready.StatusCode == HttpStatusCode.OK;
        }, "readiness once the space is back");
    }
}
