using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage;

/// <summary>How a failed store write answers a caller: 507 when the store has no room, 503 when it cannot be reached.</summary>
public sealed record StoreFailure(int Status, string Title, string Detail);

/// <summary>
/// The one place that knows which backend exceptions mean "no room" or "unreachable", so the API can answer a clear
/// 507 or 503 instead of a 500 without seeing a backend type.
/// </summary>
public static class StoreFailures
{
    private const int SqliteFull = 13;
    private const int Enospc = 28;
    private const int Edquot = 122;

    /// <summary>What <paramref name="error"/> means for a caller, or null when it is not a store failure we know.</summary>
    public static StoreFailure? Describe(Exception error) => error switch
    {
        SqliteException { SqliteErrorCode: SqliteFull } =>
            Full("the embedded store cannot write: DATA_DIR's disk is full. Free space in DATA_DIR; nothing of this request was stored"),
        SqliteException { SqliteErrorCode: 10 or 8 or 14 or 26 or 11 } sqlite =>
            Unavailable($"the embedded store cannot write ({sqlite.Message}); nothing of this request was stored"),
        IOException { HResult: Enospc or Edquot } =>
            Full("DATA_DIR's disk is full. Free space in DATA_DIR and try again"),
        RedisServerException redis when redis.Message.StartsWith("OOM", StringComparison.Ordinal) =>
            Full("Valkey refused the write: it is at its maxmemory. Raise maxmemory or free memory; nothing of this request was stored"),
        RedisServerException redis when redis.Message.StartsWith("MISCONF", StringComparison.Ordinal) =>
            Full("Valkey refuses writes because it cannot persist (its disk is full or unwritable); nothing of this request was stored"),
        RedisConnectionException or RedisTimeoutException =>
            Unavailable($"Valkey does not answer ({error.Message.Split('\n')[0]}); try again"),
        AggregateException { InnerExceptions.Count: 1 } aggregate => Describe(aggregate.InnerExceptions[0]),
        _ when error.InnerException is { } inner => Describe(inner),
        _ => null,
    };

    private static StoreFailure Full(string detail) => new(StatusCodes.Status507InsufficientStorage, "Insufficient storage", detail);

    private static StoreFailure Unavailable(string detail) => new(StatusCodes.Status503ServiceUnavailable, "Store unavailable", detail);
}
