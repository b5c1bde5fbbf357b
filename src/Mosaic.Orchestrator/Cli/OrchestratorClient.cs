using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Mosaic.Orchestrator.Cli;

/// <summary>The service could not be reached or did not answer: exit code 3.</summary>
public sealed class ServiceUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An answer of the service: its status, media type and body as text.</summary>
public sealed record ServiceReply(HttpStatusCode Status, string? MediaType, string Body)
{
    public bool Succeeded => (int)Status is >= 200 and < 300;

    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Body);
        return document.RootElement.Clone();
    }
}

/// <summary>One Server-Sent Event: its id (when sent), type and data lines joined with \n.</summary>
public sealed record ServerSentEvent(string? Id, string Type, string Data);

/// <summary>
/// The client commands' HTTP: the service's address, its key in X-API-Key, a time limit for plain requests (streams
/// have none), and every failure to reach the service turned into a <see cref="ServiceUnreachableException"/>.
/// </summary>
public sealed class OrchestratorClient : IDisposable
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(100);

    private readonly HttpClient _http;

    public OrchestratorClient(Uri baseAddress, string? apiKey)
    {
        // A trailing slash, and relative paths below: a service behind a path prefix (http://host/orchestrator) keeps it.
        var root = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _http = new HttpClient { BaseAddress = root, Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrEmpty(apiKey))
        {
            _http.DefaultRequestHeaders.Add("X-API-Key", apiKey);
        }

        Address = root;
    }

    public Uri Address { get; }

    public async Task<ServiceReply> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestTimeout);
        try
        {
            using var response = await _http.SendAsync(request, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            return new ServiceReply(response.StatusCode, response.Content.Headers.ContentType?.MediaType, text);
        }
        catch (HttpRequestException ex) when (ex.StatusCode is null)
        {
            throw new ServiceUnreachableException($"cannot reach the service at {Address}: {ex.Message}", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ServiceUnreachableException($"the service at {Address} did not answer within {RequestTimeout.TotalSeconds:F0} s", ex);
        }
    }

    /// <summary>Opens a stream; the caller reads it with <see cref="ReadEventsAsync"/> when it succeeded, or reads the problem.</summary>
    public async Task<HttpResponseMessage> OpenStreamAsync(string path, string? lastEventId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode is null)
        {
            throw new ServiceUnreachableException($"cannot reach the service at {Address}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The events of an open stream until it ends, read by the BCL's SSE parser (comments such as keep-alives and
    /// ": service stopping" are skipped). A broken connection (the service went away) ends the stream like a close.
    /// </summary>
    public static async IAsyncEnumerable<ServerSentEvent> ReadEventsAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using var events = SseParser.Create(stream).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await events.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                yield break;
            }

            yield return new ServerSentEvent(events.Current.EventId, events.Current.EventType, events.Current.Data);
        }
    }

    /// <summary>A problem of the service on stderr: its detail (or title), then each named field error.</summary>
    public static void PrintProblem(ServiceReply reply, TextWriter error)
    {
        var status = $"HTTP {(int)reply.Status}";
        try
        {
            var problem = reply.Json();
            var detail = problem.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()
                : problem.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            error.WriteLine($"mosaic-orchestrator: {detail ?? "the service refused the request"} ({status})");
            if (problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in errors.EnumerateObject())
                {
                    var messages = field.Value.ValueKind == JsonValueKind.Array
                        ? string.Join("; ", field.Value.EnumerateArray().Select(m => m.ToString()))
                        : field.Value.ToString();
                    error.WriteLine($"  {field.Name}: {messages}");
                }
            }
        }
        catch (JsonException)
        {
            var body = reply.Body.Length > 500 ? reply.Body[..500] + "..." : reply.Body;
            error.WriteLine($"mosaic-orchestrator: the service answered {status}{(body.Length > 0 ? ": " + body.Trim() : "")}");
        }
    }

    public static async Task<ServiceReply> ReadReplyAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        new(response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync(cancellationToken));

    public void Dispose() => _http.Dispose();
}
