namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>
/// What every instance sharing the model account must agree on: the day's spend (the embedded store keeps it in
/// SQLite; Valkey in one counter per day, so DAILY_MAX_COST_USD holds for the whole cluster) and until when the
/// provider's rate limit parks the account. Amounts are integer micro-dollars, so adding is exact and atomic.
/// </summary>
public interface IModelAccountStore
{
    /// <summary>Adds to the spend of <paramref name="day"/> (UTC) and returns the day's total.</summary>
    Task<long> AddSpendAsync(DateOnly day, long microUsd, CancellationToken cancellationToken);

    Task<long> GetSpendAsync(DateOnly day, CancellationToken cancellationToken);

    /// <summary>Parks the account until <paramref name="until"/>, unless it is parked until later already.</summary>
    Task ParkAsync(DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Until when the account is parked, if it was ever parked (the time may have passed).</summary>
    Task<DateTimeOffset?> GetParkedUntilAsync(CancellationToken cancellationToken);
}
