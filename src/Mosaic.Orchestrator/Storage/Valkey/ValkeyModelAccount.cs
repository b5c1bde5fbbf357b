using System.Globalization;
using Mosaic.Orchestrator.ModelGateway;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// The model account in Valkey, shared by the cluster: one counter of micro-dollars per UTC day (INCRBY is atomic, so
/// instances spending at once never lose an addition; it expires two days after the day it counts), and the time
/// the account is parked until (kept only while it lies ahead, only ever moved later).
/// </summary>
public sealed class ValkeyModelAccount(ValkeyConnection valkey) : IModelAccountStore
{
    private static readonly TimeSpan SpendKeptFor = TimeSpan.FromDays(3);

    // A park only moves later: two instances that see different resets agree on the later one.
    private const string ParkScript = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tonumber(ARGV[1]) > current then
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        end
        return 1
        """;

    public async Task<long> AddSpendAsync(DateOnly day, long microUsd, CancellationToken cancellationToken)
    {
        var key = SpendKey(day);
        var batch = valkey.Database.CreateBatch();
        var total = batch.StringIncrementAsync(key, microUsd);
        var expiry = batch.KeyExpireAsync(key, SpendKept(day));
        batch.Execute();
        await expiry;
        return await total;
    }

    public async Task<long> GetSpendAsync(DateOnly day, CancellationToken cancellationToken) =>
        (long?)await valkey.Database.StringGetAsync(SpendKey(day)) ?? 0;

    public async Task ParkAsync(DateTimeOffset until, CancellationToken cancellationToken)
    {
        var millis = until.ToUnixTimeMilliseconds();
        var ttl = Math.Max(1, millis - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await valkey.Database.ScriptEvaluateAsync(ParkScript, [valkey.Key("model:parked-until")], [millis, ttl]);
    }

    public async Task<DateTimeOffset?> GetParkedUntilAsync(CancellationToken cancellationToken) =>
        (long?)await valkey.Database.StringGetAsync(valkey.Key("model:parked-until")) is { } millis ? DateTimeOffset.FromUnixTimeMilliseconds(millis) : null;

    private RedisKey SpendKey(DateOnly day) => valkey.Key("model:spend", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

    private static DateTime SpendKept(DateOnly day) => day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) + SpendKeptFor;
}
