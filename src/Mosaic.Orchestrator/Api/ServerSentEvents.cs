using System.Globalization;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// The wire side of the service's two Server-Sent Event streams (agent events and followed logs): headers that keep
/// proxies from buffering, comment lines, and frames, each flushed at once so a client sees it when it happens.
/// </summary>
internal static class ServerSentEvents
{
    public static void Begin(HttpContext http)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    /// <summary>A comment line (": text"): clients ignore it; it keeps an idle connection open or says why it ends.</summary>
    public static Task CommentAsync(HttpResponse response, string text, CancellationToken cancellationToken) =>
        WriteAsync(response, $": {text}\n\n", cancellationToken);

    /// <summary>One event; <paramref name="data"/> must hold no line break (SSE would end the data line there).</summary>
    public static Task EventAsync(HttpResponse response, string type, string data, CancellationToken cancellationToken, long? id = null) =>
        WriteAsync(response, id is null
            ? $"event: {type}\ndata: {data}\n\n"
            : string.Create(CultureInfo.InvariantCulture, $"id: {id.Value}\nevent: {type}\ndata: {data}\n\n"), cancellationToken);

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
