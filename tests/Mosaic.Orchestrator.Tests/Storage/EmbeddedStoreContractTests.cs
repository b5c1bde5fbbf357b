using Mosaic.Orchestrator.Storage.Embedded;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Storage;

public sealed class EmbeddedStoreContractTests : AgentStoreContract
{
    private SqliteDatabase _database = null!;

    private Mosaic.Orchestrator.Events.EventBroadcaster Sink { get; } = new();
    private string _path = null!;

    public override Task InitializeAsync()
    {
        _path = Path.Combine(TempDirectory.Create("sqlite"), "orchestrator.db");
        _database = new SqliteDatabase(_path);
        var store = new EmbeddedAgentStore(_database, Sink);
        (Agents, Queue, Admin) = (store, store, store);
        History = new EmbeddedEventHistory(_database, Sink);
        Audit = new EmbeddedAuditStore(_database);
        Retention = new EmbeddedRetention(_database);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task Records_survive_reopening_the_file()
    {
        var agent = NewAgent("T-durable");
        await EnqueueAsync(agent, 10);
        await _database.DisposeAsync();
        _database = new SqliteDatabase(_path);
        var reopened = new EmbeddedAgentStore(_database, Sink);
        Assert.Equal("T-durable", (await reopened.GetAsync(agent.AgentId, default))?.TaskId);
        Assert.Null(await new EmbeddedStorageHealth(_database).CheckAsync(default));
    }

    [Fact]
    public async Task Temporary_files_such_as_the_savepoint_journal_of_a_group_commit_stay_in_memory()
    {
        // 2 = MEMORY: a batch spawn inside a group commit journals more than SQLite keeps in memory otherwise, and the
        // spill went to a file under /var/tmp, written by the kernel at half the service's CPU in a profile.
        Assert.Equal(2, await _database.RunAsync(c => c.Scalar("PRAGMA temp_store"), default));
        var batches = Enumerable.Range(0, 4).Select(b => Queue.EnqueueManyAsync(
            [.. Enumerable.Range(0, 300).Select(i => NewAgent($"T-{b}-{i}")).Select(a => (a, new Mosaic.Orchestrator.Events.AgentEvent("agent.spawned", a.AgentId, a.TaskId, Now, null)))],
            10_000, default));
        Assert.All(await Task.WhenAll(batches), results => Assert.All(results, r => Assert.Equal(Mosaic.Orchestrator.Queue.EnqueueOutcome.Enqueued, r.Outcome)));
        Assert.Equal(1200, (await Admin.GetStatsAsync(Now, default)).Pending);
    }

    [Fact]
    public async Task A_multi_row_insert_that_breaks_a_constraint_stores_none_of_its_rows_and_the_next_one_runs()
    {
        // 70 rows: one statement of 64 and three of 2; the last row repeats the first key.
        var failed = await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => _database.RunAsync(c =>
        {
            c.InsertRows("meta", ["key", "value"], 70, (row, i) =>
            {
                row.Set(0, i == 69 ? "bulk-0" : $"bulk-{i}");
                row.Set(1, "v");
            });
            return 0;
        }, default));
        Assert.Equal(19, failed.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.Equal(0, await _database.RunAsync(c => c.Scalar("SELECT COUNT(*) FROM meta WHERE key LIKE 'bulk-%'"), default));

        await _database.RunAsync(c =>
        {
            c.InsertRows("meta", ["key", "value"], 70, (row, i) =>
            {
                row.Set(0, $"bulk-{i}");
                row.SetUtf8(1, "v"u8);
            });
            return 0;
        }, default);
        Assert.Equal(70, await _database.RunAsync(c => c.Scalar("SELECT COUNT(*) FROM meta WHERE key LIKE 'bulk-%' AND value = 'v'"), default));
    }
}
