using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// Token buckets per caller (API key identity and address): spawn and kill ("writes") are stricter than reads.
/// A rejection is a 429 problem with Retry-After.
/// </summary>
public static class RateLimits
{
    public const string Writes = "writes";
    public const string Reads = "reads";

    /// <summary>Kill and kill-all have a bucket of their own: a burst of spawns must never lock the operator out of the killswitch.</summary>
    public const string Kills = "kills";

    public static IServiceCollection AddOrchestratorRateLimits(this IServiceCollection services, OrchestratorOptions options)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Writes, http => Bucket(http, Writes, options.RateLimitWritesPerSecond, options.RateLimitWritesBurst));
            limiter.AddPolicy(Reads, http => Bucket(http, Reads, options.RateLimitReadsPerSecond, options.RateLimitReadsBurst));
            limiter.AddPolicy(Kills, http => Bucket(http, Kills, options.RateLimitWritesPerSecond, options.RateLimitWritesBurst));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                await TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too Many Requests",
                    detail: $"Rate limit reached; retry after {retryAfter} s.").ExecuteAsync(context.HttpContext);
            };
        });
        return services;
    }

    /// <summary>Who a caller is for limits: its key identity and its address.</summary>
    public static string Caller(HttpContext http) => $"{ApiKeyAuthentication.ActorOf(http)}|{http.Connection.RemoteIpAddress}";

    private static RateLimitPartition<string> Bucket(HttpContext http, string policy, int perSecond, int burst) =>
        RateLimitPartition.GetTokenBucketLimiter(
            $"{policy}|{Caller(http)}",
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = burst,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
}
