using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Storage;
using Mosaic.Orchestrator.Storage.Embedded;
using Mosaic.Orchestrator.Tests.Support;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Tests.Agents;

/// <summary>RETENTION_DAYS: what ended long ago goes (record, logs, WIP branch), what is live never (real git, real HTTP).</summary>
public sealed class RetentionTests
{
    [Theory]
    [InlineData("30", true)]
    [InlineData("0", false)]
    public async Task A_sweep_removes_an_old_ended_agent_with_its_logs_and_wip_branch_and_keeps_a_live_one(string days, bool removes)
    {
        var remote = GitRemote.Create("retention");
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = "gates:\n  tests: \"false\"\n" }, "a gate nobody passes");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo attempt > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
            s["RETENTION_DAYS"] = days;
        });
        var ended = await host.SpawnAsync("T-old", repository: remote.Bare);
        await host.Events.WaitForAsync(ended, "agent.cleanup");
        var record = await host.StatusAsync(ended);
        var wip = record.GetProperty("wipBranch").GetString()!;
        var branch = record.GetProperty("branch").GetString()!;
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        var live = await host.SpawnAsync("T-live", repository: remote.Bare);
        var folder = Path.Combine(host.DataDir, "agents", ended.ToString());
        Assert.True(Directory.Exists(folder));

        var report = await host.Get<RetentionSweep>().SweepAsync(DateTimeOffset.UtcNow.AddDays(31), default);

        var cache = host.Get<GitWorkspaceProvider>().CacheFor(remote.Bare);
        using var gone = await host.Client.GetAsync($"/agents/{ended}/status");
        Assert.Equal(removes ? HttpStatusCode.NotFound : HttpStatusCode.OK, gone.StatusCode);
        Assert.Equal(removes, !Directory.Exists(folder));
        Assert.Equal(removes, remote.BranchHead(wip) is null);
        Assert.Equal(removes, !GitRefExists(cache, $"refs/heads/{branch}"));
        Assert.Equal(removes ? 1 : 0, report.Agents);
        Assert.Equal(removes, report.Events > 0);
        Assert.Equal("spawning", (await host.StatusAsync(live)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_sweep_whose_store_is_disposed_while_the_host_stops_ends_quietly()
    {
        // What a start that fails (a port in use) does: the host disposes the store while the first sweep runs.
        var database = new SqliteDatabase(Path.Combine(TempDirectory.Create("retention-stop"), "orchestrator.db"));
        var store = new StoreDisposedOnStop(new EmbeddedRetention(database), database);
        var logger = new LogCollector<RetentionSweep>();
        var settings = Options.Create(new OrchestratorOptions { RetentionDays = 30 });
        using var sweep = new RetentionSweep(store, new NoWipBranches(), settings, TimeProvider.System, logger);

        await sweep.StartAsync(default);
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await sweep.StopAsync(default);

        Assert.True(store.Failed, "the disposed store did not fail the sweep's call");
        Assert.Empty(logger.Messages);
    }

    /// <summary>Waits in the sweep's first call until the sweep is stopped, disposes the real database, then calls it.</summary>
    private sealed class StoreDisposedOnStop(IRetentionStore inner, SqliteDatabase database) : IRetentionStore
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Failed { get; private set; }

        public async Task<IReadOnlyList<AgentRecord>> ListEndedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            await database.DisposeAsync();
            try
            {
                return await inner.ListEndedBeforeAsync(cutoff, limit, CancellationToken.None);
            }
            catch (ObjectDisposedException)
            {
                Failed = true;
                throw;
            }
        }

        public Task<int> DeleteEndedAsync(IReadOnlyList<Guid> agentIds, CancellationToken cancellationToken) => inner.DeleteEndedAsync(agentIds, cancellationToken);

        public Task<long> DeleteEventsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => inner.DeleteEventsBeforeAsync(cutoff, cancellationToken);
    }

    private sealed class NoWipBranches : IWipBranches
    {
        public Task<string> PushWipAsync(AgentRecord agent, string commit, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task ForgetAsync(AgentRecord agent, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static bool GitRefExists(string repository, string reference)
    {
        try
        {
            GitRemote.Git(repository, "rev-parse", "--verify", "--quiet", reference);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
