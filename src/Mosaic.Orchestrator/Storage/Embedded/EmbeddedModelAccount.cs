using System.Globalization;
using Mosaic.Orchestrator.ModelGateway;

namespace Mosaic.Orchestrator.Storage.Embedded;

/// <summary>The model account in the SQLite store: a row of micro-dollars per UTC day, and the park time in the meta table.</summary>
public sealed class EmbeddedModelAccount(SqliteDatabase database) : IModelAccountStore
{
    public Task<long> AddSpendAsync(DateOnly day, long microUsd, CancellationToken cancellationToken) =>
        database.RunAsync(c => c.Scalar("""
            INSERT INTO model_spend (day, micro_usd) VALUES ($day, $n)
            ON CONFLICT(day) DO UPDATE SET micro_usd = micro_usd + $n RETURNING micro_usd
            """, ("$day", Day(day)), ("$n", microUsd)), cancellationToken);

    public Task<long> GetSpendAsync(DateOnly day, CancellationToken cancellationToken) =>
        database.RunAsync(c => c.Scalar("SELECT micro_usd FROM model_spend WHERE day = $day", ("$day", Day(day))), cancellationToken);

    public Task ParkAsync(DateTimeOffset until, CancellationToken cancellationToken) =>
        database.RunAsync(c => c.Execute("""
            INSERT INTO meta (key, value) VALUES ('model.parked_until', $v)
            ON CONFLICT(key) DO UPDATE SET value = $v WHERE CAST(value AS INTEGER) < CAST($v AS INTEGER)
            """, ("$v", until.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture))), cancellationToken);

    public Task<DateTimeOffset?> GetParkedUntilAsync(CancellationToken cancellationToken) =>
        database.RunAsync(c => c.Strings("SELECT value FROM meta WHERE key = 'model.parked_until'") is [var value]
            && long.TryParse(value, CultureInfo.InvariantCulture, out var millis) ? DateTimeOffset.FromUnixTimeMilliseconds(millis) : (DateTimeOffset?)null, cancellationToken);

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
