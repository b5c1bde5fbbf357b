using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// X-API-Key on every /agents route (SPEC), including unknown ones, so nothing about agents is learned without the
/// key; and on the operator's surface that describes or counts them: /openapi, /scalar and /metrics. /health stays
/// open (probes carry no key), and so do paths the service does not serve (a plain 404) and the dashboard's page and
/// files (/, /dashboard/*: the same bytes for every caller, no data; see Dashboard/DashboardApi.cs). Both sides are
/// hashed before a fixed-time compare: the time taken says nothing about length or prefix. Without a configured key
/// (allowed only on loopback) every caller is "anonymous". Failed checks are throttled per caller address
/// (<see cref="AuthFailureThrottle"/>), so guessing is not free.
/// </summary>
public sealed class ApiKeyAuthentication(RequestDelegate next, IOptions<OrchestratorOptions> options, AuthFailureThrottle throttle)
{
    public const string HeaderName = "X-API-Key";
    private const string ActorItem = "mosaic.actor";
    private readonly byte[]? _expected = options.Value.HasApiKey ? SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.ApiKey!)) : null;
    private readonly string _identity = options.Value.HasApiKey ? KeyIdentity(options.Value.ApiKey!) : "anonymous";

    /// <summary>The non-secret name of a key for audit entries: the first 8 hex digits of its SHA-256.</summary>
    public static string KeyIdentity(string key) => "key:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..8];

    public static string ActorOf(HttpContext context) => context.Items[ActorItem] as string ?? "anonymous";

    /// <summary>The path prefixes (whole segments) that need the key when one is configured.</summary>
    public static IReadOnlyList<string> ProtectedPrefixes { get; } = ["/agents", "/openapi", "/scalar", "/metrics"];

    public static bool IsProtected(PathString path) => ProtectedPrefixes.Any(prefix => path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase));

    public static bool IsProtected(string path) => IsProtected(new PathString(path));

    public async Task InvokeAsync(HttpContext context)
    {
        if (_expected is not null && IsProtected(context.Request.Path))
        {
            if (throttle.Blocked(context.Connection.RemoteIpAddress) is { } wait)
            {
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await TypedResults.Problem(
                    statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too Many Requests",
                    detail: $"Too many failed {HeaderName} checks from this address (AUTH_FAILURES_PER_MINUTE); no key is checked for it for {seconds} s.").ExecuteAsync(context);
                return;
            }

            var presented = context.Request.Headers[HeaderName].ToString();
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
            if (presented.Length == 0 || !CryptographicOperations.FixedTimeEquals(hash, _expected))
            {
                throttle.Failed(context.Connection.RemoteIpAddress);
                await TypedResults.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Unauthorized",
                    detail: presented.Length == 0 ? $"The {HeaderName} header is required." : $"The {HeaderName} header does not match.").ExecuteAsync(context);
                return;
            }
        }

        context.Items[ActorItem] = _identity;
        await next(context);
    }
}
