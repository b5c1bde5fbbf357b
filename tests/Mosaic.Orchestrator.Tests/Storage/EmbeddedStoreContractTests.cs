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
}
