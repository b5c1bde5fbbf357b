using System.Text.Json;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>
/// The model gateway: /v1/* of the Anthropic API, reverse-proxied. A call must carry a credential issued for a run
/// that is still going (x-api-key or a Bearer token); the gateway swaps in CLAUDE_API_KEY, forwards to
/// ANTHROPIC_BASE_URL (default the Anthropic API) and streams the answer back byte for byte, unbuffered, metering the
/// tokens from the answer's own usage figures. Neither key is ever logged.
/// </summary>
public static partial class GatewayProxy
{
    public const string HttpClientName = "model-gateway";
    public const string DefaultUpstream = "https://api.anthropic.com";

    /// <summary>A model request carries the whole conversation; this bounds what one may send through the gateway.</summary>
    public const long MaxRequestBytes = 64L * 1024 * 1024;

    // Hop-by-hop headers and the ones the gateway sets itself.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Content-Length", "x-api-key", "Authorization", "Cookie",
    };

    public static IEndpointRouteBuilder MapModelGateway(this IEndpointRouteBuilder app)
    {
        app.Map("/v1/{**path}", ForwardAsync).ExcludeFromDescription();
        return app;
    }

    public static async Task ForwardAsync(
        HttpContext http, string? path, GatewayCredentials credentials, ModelAccount account, IHttpClientFactory clients, IOptions<ClaudeCodeOptions> claude,
        TimeProvider time, ILoggerFactory loggers)
    {
        var presented = http.Request.Headers["x-api-key"].ToString();
        if (presented.Length == 0 && http.Request.Headers.Authorization.ToString() is { } bearer && bearer.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = bearer["Bearer ".Length..].Trim();
        }

        if (credentials.Find(presented) is not { } grant)
        {
            await ErrorAsync(http, StatusCodes.Status401Unauthorized, "authentication_error",
                "the model gateway takes only the credential of a running agent (it is revoked when the run ends)");
            return;
        }

        // Budgets are checked before the call starts (fail-closed: a spend that cannot be read refuses the call). The
        // refusal is the API's own shape for an account out of credit (400), which the CLI shows and does not retry.
        string? refusal;
        try
        {
            refusal = await account.RefusalAsync(grant, http.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogBudgetUnknown(loggers.CreateLogger(typeof(GatewayProxy)), ex, grant.AgentId);
            await ErrorAsync(http, StatusCodes.Status503ServiceUnavailable, "api_error", "the model gateway cannot read today's spend to check DAILY_MAX_COST_USD; try again shortly");
            return;
        }

        if (refusal is not null)
        {
            grant.Refuse(refusal);
            http.Response.Headers["x-should-retry"] = "false";
            await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request_error", $"budget exceeded: {refusal} (the orchestrator's model gateway refused this call)");
            return;
        }

        // While a rate limit parks the account, calls are answered here as the API would answer them, without a call.
        if (account.ParkedUntil is { } parkedUntil)
        {
            grant.Parked(parkedUntil);
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling((parkedUntil - time.GetUtcNow()).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ErrorAsync(http, StatusCodes.Status429TooManyRequests, "rate_limit_error", $"the model API rate-limited this account until {parkedUntil:O}");
            return;
        }

        // A conversation grows past MAX_REQUEST_BODY_BYTES, which is for the control API; the credential was checked first.
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxRequestBytes;
        }

        var upstream = new Uri(new Uri(AppendSlash(claude.Value.BaseUrl ?? DefaultUpstream)), "v1/" + path + http.Request.QueryString);
        using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), upstream);
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(http.Request.Body);
        }

        foreach (var (name, values) in http.Request.Headers.Where(h => !NotForwarded.Contains(h.Key)))
        {
            if (!request.Headers.TryAddWithoutValidation(name, [.. values]))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, [.. values]);
            }
        }

        request.Headers.TryAddWithoutValidation("x-api-key", claude.Value.ApiKey ?? "");

        HttpResponseMessage response;
        try
        {
            response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
        }
        catch (HttpRequestException ex)
        {
            LogUpstreamFailed(loggers.CreateLogger(typeof(GatewayProxy)), grant.AgentId, upstream.Host, ex.Message);
            await ErrorAsync(http, StatusCodes.Status502BadGateway, "api_error", $"the model API at {upstream.Host} could not be reached");
            return;
        }

        using (response)
        {
            if ((int)response.StatusCode is 429 or 529 && RateLimitReset.From(response, time.GetUtcNow()) is { } reset)
            {
                await account.ParkAsync(grant, reset, (int)response.StatusCode, CancellationToken.None);
            }

            http.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers).Where(h => !NotForwarded.Contains(h.Key)))
            {
                http.Response.Headers[name] = values.ToArray();
            }

            var streamed = response.Content.Headers.ContentType?.MediaType == "text/event-stream";
            var meter = new UsageMeter(streamed);
            try
            {
                await RelayAsync(response, http, meter);
            }
            finally
            {
                // Metered even when the client went away mid-answer: what was generated until then is paid for.
                meter.Complete();
                await account.RecordAsync(grant, meter.Tokens, meter.Model, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Copies the answer to the client, metering it on the way. Nothing is held back: whatever has arrived is flushed
    /// before the gateway waits for more (a test reads the first events of an answer whose upstream has stalled). But
    /// what has already arrived goes out in one flush instead of one per read: with a flush per read the gateway made
    /// twice the send calls of a bare relay for the same answer (strace -c, bench/README.md).
    /// </summary>
    private static async Task RelayAsync(HttpResponseMessage response, HttpContext http, UsageMeter meter)
    {
        var aborted = http.RequestAborted;
        var writer = http.Response.BodyWriter;
        await using var body = await response.Content.ReadAsStreamAsync(aborted);
        // Not from a pool: a read still in flight when the client goes away must not land in a buffer lent to someone else.
        var buffer = new byte[32 * 1024];
        var unflushed = 0;
        while (true)
        {
            var reading = body.ReadAsync(buffer, aborted);
            if (!reading.IsCompleted && unflushed > 0)
            {
                // About to wait on the upstream: what came so far goes out now.
                await writer.FlushAsync(aborted);
                unflushed = 0;
            }

            var read = await reading;
            if (read == 0)
            {
                break;
            }

            System.Buffers.BuffersExtensions.Write(writer, buffer.AsSpan(0, read));
            meter.Feed(buffer.AsSpan(0, read));
            unflushed += read;
            if (unflushed >= MaxUnflushedBytes)
            {
                await writer.FlushAsync(aborted);
                unflushed = 0;
            }
        }

        await writer.FlushAsync(aborted);
    }

    // A long run of bytes that are all there already still goes out in pieces of this size (the pipe's own back-pressure
    // threshold is 64 KiB).
    private const int MaxUnflushedBytes = 64 * 1024;

    private static string AppendSlash(string url) => url.EndsWith('/') ? url : url + "/";

    /// <summary>An error in the Anthropic API's own shape, so a client reports it as it would the API's.</summary>
    private static Task ErrorAsync(HttpContext http, int status, string type, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { type = "error", error = new { type, message } }));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Model gateway: the day's spend could not be read; agent {AgentId}'s call was refused")]
    private static partial void LogBudgetUnknown(ILogger logger, Exception ex, Guid agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model gateway: agent {AgentId}'s call to {Host} failed: {Error}")]
    private static partial void LogUpstreamFailed(ILogger logger, Guid agentId, string host, string error);
}
