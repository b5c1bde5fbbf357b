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
        HttpContext http, string? path, GatewayCredentials credentials, IHttpClientFactory clients, IOptions<ClaudeCodeOptions> claude, ILoggerFactory loggers)
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
            http.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers).Where(h => !NotForwarded.Contains(h.Key)))
            {
                http.Response.Headers[name] = values.ToArray();
            }

            var streamed = response.Content.Headers.ContentType?.MediaType == "text/event-stream";
            var meter = new UsageMeter(streamed);
            await using var body = await response.Content.ReadAsStreamAsync(http.RequestAborted);
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, http.RequestAborted)) > 0)
            {
                // Each chunk goes out as it came (Kestrel's response body flushes every write): a streamed answer is never
                // held back. A test reads the first events of an answer whose upstream has stalled.
                await http.Response.Body.WriteAsync(buffer.AsMemory(0, read), http.RequestAborted);
                meter.Feed(buffer.AsSpan(0, read));
            }

            meter.Complete();
            grant.Add(meter.Tokens);
        }
    }

    private static string AppendSlash(string url) => url.EndsWith('/') ? url : url + "/";

    /// <summary>An error in the Anthropic API's own shape, so a client reports it as it would the API's.</summary>
    private static Task ErrorAsync(HttpContext http, int status, string type, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { type = "error", error = new { type, message } }));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model gateway: agent {AgentId}'s call to {Host} failed: {Error}")]
    private static partial void LogUpstreamFailed(ILogger logger, Guid agentId, string host, string error);
}
