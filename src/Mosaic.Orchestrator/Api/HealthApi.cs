using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Storage;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Api;

public sealed record HealthResponse(string Status, double Uptime, DateTimeOffset Timestamp, string Version);

/// <summary>GET /health/ready: "ready" or "not-ready", the failing checks' names, and every check with its detail.</summary>
public sealed record ReadinessResponse(string Status, IReadOnlyList<string> Failing, IReadOnlyDictionary<string, ReadinessCheck> Checks);

/// <summary>One readiness check: "pass" or "fail", and what it found.</summary>
public sealed record ReadinessCheck(string Status, string? Detail);

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        // Resolved here, while the application is built: the clock starts when it is created, and uptime counted
        // from the first GET /health (as it did) read 0 on a service that had run for hours.
        var clock = app.ServiceProvider.GetRequiredService<ServiceClock>();
        app.MapGet("/health", (TimeProvider time) =>
            TypedResults.Ok(new HealthResponse("healthy", Math.Round(clock.Uptime.TotalSeconds, 3), time.GetUtcNow(), ServiceVersion.Text)))
            .WithTags("health").WithName("GetHealth").WithSummary("Liveness: the service answers");
        app.MapGet("/health/ready", ReadyAsync)
            .WithTags("health").WithName("GetReadiness").WithSummary("Readiness: the store, git and the agent runtime")
            .WithDescription("200 when every check passes; 503 names the failing checks, and spawns are refused meanwhile.")
            .Produces<ReadinessResponse>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>The registered checks (store, git, runtime) as one answer; 503 while any fails.</summary>
    public static async Task<Results<Ok<ReadinessResponse>, JsonHttpResult<ReadinessResponse>>> ReadyAsync(
        HealthCheckService checks, HttpContext http, CancellationToken cancellationToken)
    {
        var report = await checks.CheckHealthAsync(cancellationToken);
        var body = new ReadinessResponse(
            report.Status == HealthStatus.Healthy ? "ready" : "not-ready",
            [.. report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => e.Key)],
            report.Entries.ToDictionary(e => e.Key, e => new ReadinessCheck(e.Value.Status == HealthStatus.Healthy ? "pass" : "fail", e.Value.Description)));
        // As the health check middleware did: a probe's answer is never cached.
        http.Response.Headers.CacheControl = "no-store, no-cache";
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok(body)
            : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    public static IHealthChecksBuilder AddReadinessChecks(this IServiceCollection services)
    {
        // Singletons: AddCheck<T> makes a new instance per check unless T is registered, and GitReadiness's cache
        // then never answered; spawns ask the same instances (SpawnReadiness).
        services.AddSingleton<StoreReadiness>();
        services.AddSingleton<DiskReadiness>();
        services.AddSingleton<GitReadiness>();
        services.AddSingleton<RuntimeReadiness>();
        services.AddSingleton<SpawnReadiness>();
        services.AddSingleton<ModelAccountReadiness>();
        return services.AddHealthChecks()
            .AddCheck<StoreReadiness>("store")
            .AddCheck<DiskReadiness>("disk")
            .AddCheck<GitReadiness>("git")
            .AddCheck<RuntimeReadiness>("runtime")
            .AddCheck<ModelAccountReadiness>("budget");
    }
}

/// <summary>When the service started, for /health's uptime.</summary>
public sealed class ServiceClock(TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();

    public TimeSpan Uptime => time.GetElapsedTime(_started);
}

public sealed class StoreReadiness(IStorageHealth store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await store.CheckAsync(cancellationToken) is { } problem
            ? HealthCheckResult.Unhealthy($"{store.BackendName}: {problem}")
            : HealthCheckResult.Healthy($"{store.BackendName} store answers");
}

/// <summary>DATA_DIR has at least DISK_MIN_FREE_MB free (below it no agent starts).</summary>
public sealed class DiskReadiness(DiskSpace disk) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(disk.Check() is { } problem ? HealthCheckResult.Unhealthy(problem) : HealthCheckResult.Healthy("DATA_DIR has room"));
}

public sealed class RuntimeReadiness(IAgentRuntime runtime) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await runtime.CheckAsync(cancellationToken) is { } problem
            ? HealthCheckResult.Unhealthy($"{runtime.Name}: {problem}")
            : HealthCheckResult.Healthy($"{runtime.Description} can run");
}

/// <summary>
/// The daily budget (DAILY_MAX_COST_USD) is not spent: while it is, spawns still queue but no agent starts, and this
/// says why. A rate-limit park is named in the detail without failing: it ends by itself within minutes.
/// </summary>
public sealed class ModelAccountReadiness(ModelGateway.ModelAccount account) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(account.DailySpent() is { } spent
            ? HealthCheckResult.Unhealthy(spent + "; spawns queue, no agent starts until 00:00 UTC")
            : HealthCheckResult.Healthy(account.ParkedUntil is { } until
                ? $"within budget; the model API rate-limited the account until {until:O}"
                : $"within budget ({ModelGateway.ModelPrices.Format(account.SpentTodayUsd)} spent today)"));
}

/// <summary>The git binary answers `git --version` (cached for a minute: readiness is polled often, and every spawn asks).</summary>
public sealed class GitReadiness(TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromSeconds(15);
    private volatile Answer? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Two callers at once may both run git; that costs a process, not correctness.
        if (_last is { } cached && time.GetUtcNow() - cached.At < CacheFor)
        {
            return cached.Result;
        }

        HealthCheckResult result;
        try
        {
            var git = await new GitCommand(allowLocal: false, VersionTimeout).RunAsync(null, ["--version"], cancellationToken);
            result = git.Succeeded ? HealthCheckResult.Healthy(git.Output.Trim()) : HealthCheckResult.Unhealthy($"git --version exited {git.ExitCode}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            result = HealthCheckResult.Unhealthy($"git not found on PATH: {ex.Message}");
        }
        catch (GitException ex)
        {
            result = HealthCheckResult.Unhealthy(ex.Message); // timed out
        }

        _last = new Answer(result, time.GetUtcNow());
        return result;
    }

    private sealed record Answer(HealthCheckResult Result, DateTimeOffset At);
}

/// <summary>
/// The readiness checks a spawn must pass: the store's file, git and the agent runtime. Without them a spawn was
/// accepted and its agent failed at once (runtime-unavailable), or went into a store file that was gone; now the spawn
/// is refused with 503 and nothing is queued. A full disk does not refuse spawns (they wait; no agent starts). Cheap
/// enough for every spawn: git's answer is cached for a minute, Claude Code's version until its file changes (a failure
/// for 10 s), the command runtime and the store's file are a look at files. A runtime that breaks after the spawn is
/// still caught by the worker's own check.
/// </summary>
public sealed class SpawnReadiness(GitReadiness git, RuntimeReadiness runtime, IStorageHealth store)
{
    /// <summary>How long a refused spawn is told to wait: a failed Claude Code probe is kept that long.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);

    /// <summary>The failing checks by name ("store", "git", "runtime"), each with what is wrong; empty when a spawn can run.</summary>
    public async Task<IReadOnlyDictionary<string, string>> FailingAsync(CancellationToken cancellationToken)
    {
        var failing = new Dictionary<string, string>();
        // Only the store's quick check: a write to a store that is down fails the spawn by itself, but a write into a
        // removed store file would be accepted and lost.
        if (store.QuickCheck() is { } gone)
        {
            failing["store"] = $"{store.BackendName}: {gone}";
        }

        foreach (var (name, check) in new (string, IHealthCheck)[] { ("git", git), ("runtime", runtime) })
        {
            var result = await check.CheckHealthAsync(new HealthCheckContext(), cancellationToken);
            if (result.Status != HealthStatus.Healthy)
            {
                failing[name] = result.Description ?? "failing";
            }
        }

        return failing;
    }
}
