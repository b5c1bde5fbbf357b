using System.Globalization;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>The events of the model account (service-wide news, attributed to the agent whose call caused it).</summary>
public static class ModelEventTypes
{
    /// <summary>The provider rate-limited the account: no task is leased until <c>until</c>.</summary>
    public const string RateLimited = "model.rate-limited";

    /// <summary>The park ended: tasks are leased again.</summary>
    public const string Resumed = "model.resumed";
}

/// <summary>
/// The model account as the gateway and the worker see it: what may be spent (AGENT_MAX_COST_USD, TASK_MAX_COST_USD,
/// DAILY_MAX_COST_USD), what was spent today, and whether a rate limit parks it. Budgets are fail-closed: a call is
/// refused once a budget is spent, and when the day's spend cannot be read at all. A call already running is let
/// finish, so a budget can be overrun by what the calls in flight cost, never by a call started after it was spent.
/// The day's figure is the store's (the cluster's with Valkey), read at most once a second and after every call.
/// </summary>
public sealed partial class ModelAccount(
    IModelAccountStore store,
    IEventHistory events,
    QueueSignal signal,
    IOptions<OrchestratorOptions> options,
    TimeProvider time,
    ILogger<ModelAccount> logger)
{
    private static readonly TimeSpan DayReadEvery = TimeSpan.FromSeconds(1);
    private readonly Lock _lock = new();
    private readonly ModelPrices _prices = ModelPrices.Load(options.Value.ModelPrices);
    private DateOnly _day;
    private long _dayMicroUsd;
    private long _dayReadAt = long.MinValue;
    private long _unrecorded;
    private DateTimeOffset? _parkedUntil;
    private (Guid AgentId, string TaskId)? _parkedBy;

    public ModelPrices Prices => _prices;

    private OrchestratorOptions Settings => options.Value;

    /// <summary>Today's spend (UTC) as last read, in USD.</summary>
    public double SpentTodayUsd
    {
        get { lock (_lock) { return _day == Today() ? ModelPrices.Usd(_dayMicroUsd + _unrecorded) : 0; } }
    }

    /// <summary>Until when the account is parked, while that lies ahead.</summary>
    public DateTimeOffset? ParkedUntil
    {
        get { lock (_lock) { return _parkedUntil is { } until && until > time.GetUtcNow() ? until : null; } }
    }

    /// <summary>Why no agent may start now (the daily budget is spent, or a rate limit parks the account); null when they may. Cheap.</summary>
    public string? WhyNot()
    {
        if (ParkedUntil is { } until)
        {
            return $"the model API rate-limited the account until {until:O} (RATE_LIMIT_PARKING)";
        }

        return DailySpent() is { } spent ? spent + "; agents start again at 00:00 UTC" : null;
    }

    /// <summary>Whether the daily budget is spent, as last read; why, if it is.</summary>
    public string? DailySpent() =>
        Settings.DailyMaxCostUsd is { } max && SpentTodayUsd >= max
            ? $"DAILY_MAX_COST_USD ({ModelPrices.Format(max)}) is spent for {Today():yyyy-MM-dd} ({ModelPrices.Format(SpentTodayUsd)} so far)"
            : null;

    /// <summary>
    /// Null when <paramref name="grant"/>'s run may start another call, else why not (a budget is spent). Throws when
    /// the day's spend is needed and cannot be read: the caller refuses the call then (fail-closed).
    /// </summary>
    public async Task<string?> RefusalAsync(GatewayGrant grant, CancellationToken cancellationToken)
    {
        var settings = Settings;
        if (settings.AgentMaxCostUsd is { } agentMax && ModelPrices.Usd(grant.AgentSpentBefore + grant.MicroUsd) >= agentMax)
        {
            return $"AGENT_MAX_COST_USD ({ModelPrices.Format(agentMax)}) is spent: this agent has used {ModelPrices.Format(ModelPrices.Usd(grant.AgentSpentBefore + grant.MicroUsd))}";
        }

        if (settings.TaskMaxCostUsd is { } taskMax && ModelPrices.Usd(grant.TaskSpentBefore + grant.MicroUsd) >= taskMax)
        {
            return $"TASK_MAX_COST_USD ({ModelPrices.Format(taskMax)}) is spent: task {grant.TaskId} has used {ModelPrices.Format(ModelPrices.Usd(grant.TaskSpentBefore + grant.MicroUsd))}";
        }

        if (settings.DailyMaxCostUsd is not null)
        {
            await RefreshDayAsync(force: false, cancellationToken);
            return DailySpent();
        }

        return null;
    }

    /// <summary>Prices a call's usage, adds it to the run's grant and to the day's spend (kept and added later if the store fails now).</summary>
    public async Task RecordAsync(GatewayGrant grant, TokenUsage usage, string? model, CancellationToken cancellationToken)
    {
        var (entry, price) = _prices.For(model);
        var microUsd = price.MicroUsd(usage);
        grant.Add(usage, model, entry, microUsd);
        if (microUsd == 0)
        {
            return;
        }

        long pending;
        lock (_lock)
        {
            RollDay();
            _unrecorded += microUsd;
            pending = _unrecorded;
        }

        try
        {
            var total = await store.AddSpendAsync(Today(), pending, cancellationToken);
            lock (_lock)
            {
                _unrecorded -= pending;
                _dayMicroUsd = total;
                _dayReadAt = time.GetTimestamp();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSpendNotRecorded(logger, ex, ModelPrices.Usd(pending)); // kept in _unrecorded: the next call adds it
        }
    }

    /// <summary>
    /// A 429 or 529 said when the limit resets: the account is parked until then (every instance sharing the store sees
    /// it), unless parking is off or the reset is further than RATE_LIMIT_MAX_WAIT_MINUTES away. Returns the park.
    /// </summary>
    public async Task<DateTimeOffset?> ParkAsync(GatewayGrant grant, DateTimeOffset until, int status, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!Settings.RateLimitParking || until <= now || until - now > TimeSpan.FromMinutes(Settings.RateLimitMaxWaitMinutes))
        {
            return null;
        }

        grant.Parked(until);
        bool extended;
        lock (_lock)
        {
            extended = _parkedUntil is not { } known || known < until;
            if (extended)
            {
                _parkedUntil = until;
                _parkedBy = (grant.AgentId, grant.TaskId);
            }
        }

        if (!extended)
        {
            return until;
        }

        LogParked(logger, grant.AgentId, status, until);
        try
        {
            await store.ParkAsync(until, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogParkNotShared(logger, ex); // this instance stops leasing all the same
        }

        await PublishAsync(ModelEventTypes.RateLimited, grant.AgentId, grant.TaskId, new { until, status, waitSeconds = Math.Round((until - now).TotalSeconds, 3) });
        signal.Notify();
        return until;
    }

    /// <summary>
    /// Reads the shared state (the day's spend, a park another instance set), and says model.resumed when a park this
    /// instance announced has ended. Called by <see cref="ModelAccountWatch"/>; returns how long until it is worth looking again.
    /// </summary>
    public async Task<TimeSpan> RefreshAsync(CancellationToken cancellationToken)
    {
        var wasBlocked = WhyNot() is not null;
        if (Settings.DailyMaxCostUsd is not null)
        {
            await RefreshDayAsync(force: true, cancellationToken);
        }

        if (Settings.RateLimitParking && await store.GetParkedUntilAsync(cancellationToken) is { } shared)
        {
            lock (_lock)
            {
                if (_parkedUntil is not { } known || known < shared)
                {
                    _parkedUntil = shared;
                }
            }
        }

        (Guid AgentId, string TaskId)? resumedBy = null;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_parkedUntil is { } until && until <= now)
            {
                _parkedUntil = null;
                resumedBy = _parkedBy;
                _parkedBy = null;
            }
        }

        if (resumedBy is { } by)
        {
            LogResumed(logger);
            await PublishAsync(ModelEventTypes.Resumed, by.AgentId, by.TaskId, new { at = now });
        }

        if (wasBlocked && WhyNot() is null)
        {
            signal.Notify(); // the worker leases again now, not at its next poll
        }

        var parked = ParkedUntil is { } next ? next - time.GetUtcNow() : TimeSpan.MaxValue;
        return parked < DayReadEvery ? (parked < TimeSpan.Zero ? TimeSpan.Zero : parked) : DayReadEvery;
    }

    private async Task RefreshDayAsync(bool force, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            RollDay();
            if (!force && time.GetElapsedTime(_dayReadAt) < DayReadEvery)
            {
                return;
            }
        }

        var day = Today();
        var total = await store.GetSpendAsync(day, cancellationToken);
        lock (_lock)
        {
            if (_day == day)
            {
                _dayMicroUsd = Math.Max(_dayMicroUsd, total);
                _dayReadAt = time.GetTimestamp();
            }
        }
    }

    private void RollDay()
    {
        var today = Today();
        if (_day != today)
        {
            _day = today;
            _dayMicroUsd = 0;
            _dayReadAt = long.MinValue;
        }
    }

    private DateOnly Today() => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    private async Task PublishAsync(string type, Guid agentId, string taskId, object data)
    {
        try
        {
            await events.AppendAsync(new AgentEvent(type, agentId, taskId, time.GetUtcNow(),
                System.Text.Json.JsonSerializer.SerializeToElement(data, OrchestratorJson.Options)), CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogEventFailed(logger, ex, type);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model gateway: the day's spend could not be recorded (${Usd} kept to add later)")]
    private static partial void LogSpendNotRecorded(ILogger logger, Exception ex, double usd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model API rate limit (status {Status}) met by agent {AgentId}: no task is leased until {Until}")]
    private static partial void LogParked(ILogger logger, Guid agentId, int status, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The rate-limit park could not be shared through the store; this instance keeps it")]
    private static partial void LogParkNotShared(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model API rate-limit park ended: leasing tasks again")]
    private static partial void LogResumed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {EventType} failed")]
    private static partial void LogEventFailed(ILogger logger, Exception ex, string eventType);
}

/// <summary>Keeps <see cref="ModelAccount"/>'s view of the shared state fresh and ends parks on time.</summary>
public sealed partial class ModelAccountWatch(ModelAccount account, TimeProvider time, ILogger<ModelAccountWatch> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan next;
            try
            {
                next = await account.RefreshAsync(stoppingToken);
                failing = false;
            }
            catch (ObjectDisposedException)
            {
                return; // the host is gone: a start that failed (its port taken, say) disposes the store under the loop
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (!failing)
                {
                    LogRefreshFailed(logger, ex); // once per outage: the store may be back at the next look; the last figures stand meanwhile
                }

                failing = true;
                next = TimeSpan.FromSeconds(1);
            }

            try
            {
                await Task.Delay(next + TimeSpan.FromMilliseconds(5), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the model account's shared state failed")]
    private static partial void LogRefreshFailed(ILogger logger, Exception ex);
}

/// <summary>The reset a 429/529 names: <c>retry-after</c> (seconds or an HTTP date), else the latest exhausted <c>anthropic-ratelimit-*-reset</c>.</summary>
public static class RateLimitReset
{
    public static DateTimeOffset? From(HttpResponseMessage response, DateTimeOffset now)
    {
        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return now + delta;
            }

            if (retryAfter.Date is { } date)
            {
                return date;
            }
        }

        // The SDKs' rule: the later reset of the limits whose remaining count is 0; any reset when none says 0.
        DateTimeOffset? exhausted = null;
        DateTimeOffset? any = null;
        foreach (var (name, values) in response.Headers)
        {
            if (!name.StartsWith("anthropic-ratelimit-", StringComparison.OrdinalIgnoreCase) || !name.EndsWith("-reset", StringComparison.OrdinalIgnoreCase)
                || !DateTimeOffset.TryParse(values.FirstOrDefault(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var reset))
            {
                continue;
            }

            any = any is { } a && a > reset ? a : reset;
            var remaining = name[..^"-reset".Length] + "-remaining";
            if (response.Headers.TryGetValues(remaining, out var left) && left.FirstOrDefault() == "0")
            {
                exhausted = exhausted is { } e && e > reset ? e : reset;
            }
        }

        return exhausted ?? any;
    }
}
