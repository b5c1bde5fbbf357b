using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Storage.Embedded;
using Mosaic.Orchestrator.Storage.Valkey;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.ModelGateway;

/// <summary>The model account's shared state (the day's spend, the rate-limit park) against both backends: SQLite and a real redis-server.</summary>
public sealed class ModelAccountStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Embedded()
    {
        await using var database = new SqliteDatabase(Path.Combine(TempDirectory.Create("account"), "orchestrator.db"));
        await ContractAsync(new EmbeddedModelAccount(database));
    }

    [Fact]
    public async Task Valkey()
    {
        await using var valkey = new ValkeyConnection(redis.Connection, RedisFixture.NewPrefix());
        await ContractAsync(new ValkeyModelAccount(valkey));
        // The day's counter expires by itself (three days after the day began): no old day stays in a shared server.
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var ttl = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(valkey.Key("model:spend", today));
        Assert.InRange(ttl!.Value, TimeSpan.FromDays(2), TimeSpan.FromDays(3));
    }

    private static async Task ContractAsync(IModelAccountStore store)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal(0, await store.GetSpendAsync(today, default));
        Assert.Equal(600, await store.AddSpendAsync(today, 600, default));
        // Spends from several instances at once add up exactly.
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => store.AddSpendAsync(today, 10, default)));
        Assert.Equal(1100, await store.GetSpendAsync(today, default));
        Assert.Equal(0, await store.GetSpendAsync(today.AddDays(-1), default));

        Assert.Null(await store.GetParkedUntilAsync(default));
        var later = DateTimeOffset.UtcNow.AddMinutes(5);
        await store.ParkAsync(later, default);
        await store.ParkAsync(later.AddMinutes(-3), default); // an earlier reset never shortens a park
        Assert.Equal(later.ToUnixTimeMilliseconds(), (await store.GetParkedUntilAsync(default))!.Value.ToUnixTimeMilliseconds());
        await store.ParkAsync(later.AddMinutes(1), default);
        Assert.Equal(later.AddMinutes(1).ToUnixTimeMilliseconds(), (await store.GetParkedUntilAsync(default))!.Value.ToUnixTimeMilliseconds());
    }
}
