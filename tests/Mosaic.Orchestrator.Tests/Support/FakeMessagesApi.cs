using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>What the fake model says next.</summary>
public abstract record FakeReply
{
    public sealed record Text(string Content) : FakeReply;

    /// <summary>A tool call; <paramref name="Input"/> is serialized as the tool's JSON input.</summary>
    public sealed record ToolUse(string Name, object Input) : FakeReply;

    /// <summary>An HTTP error with the API's error body (authentication_error, api_error, overloaded_error ...) and extra headers (retry-after ...).</summary>
    public sealed record Error(int Status, string Type, string Message, IReadOnlyDictionary<string, string>? Headers = null) : FakeReply;

    /// <summary>Starts a text answer, then sends nothing more until the client goes away.</summary>
    public sealed record Stall(string Before) : FakeReply;
}

/// <summary>A request as the fake received it.</summary>
public sealed record RecordedRequest(string Path, string? ApiKey, string? Model, JsonElement Body)
{
    /// <summary>The tool results the client sent back in its last message (each result's text).</summary>
    public IReadOnlyList<string> ToolResults =>
        [.. Body.GetProperty("messages").EnumerateArray().Last().GetProperty("content") is { ValueKind: JsonValueKind.Array } content
            ? content.EnumerateArray()
                .Where(c => c.TryGetProperty("type", out var t) && t.GetString() == "tool_result")
                .Select(c => c.GetProperty("content") is { ValueKind: JsonValueKind.String } s ? s.GetString()! : c.GetProperty("content").ToString())
            : []];

    /// <summary>Every text the client sent in its messages (the prompt, system reminders), joined.</summary>
    public string MessageText => string.Join("\n", Body.GetProperty("messages").EnumerateArray()
        .SelectMany(m => m.GetProperty("content") is { ValueKind: JsonValueKind.Array } parts
            ? parts.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString() ?? "")
            : [m.GetProperty("content").GetString() ?? ""]));

    public IReadOnlyList<string> ToolNames => [.. Body.TryGetProperty("tools", out var tools) ? tools.EnumerateArray().Select(t => t.GetProperty("name").GetString()!) : []];
}

/// <summary>
/// A stand-in for the Anthropic Messages API on loopback: a real HTTP server speaking the streaming protocol
/// Claude Code uses (POST /v1/messages, SSE: message_start, ping, content_block_*, message_delta, message_stop).
/// Replies come from a script in order; when it runs out the model says "Done.".
/// </summary>
public sealed class FakeMessagesApi : IAsyncDisposable
{
    public const string Model = "claude-sonnet-4-5";
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeReply> _script = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private int _messageNumber;

    private FakeMessagesApi(WebApplication app, string apiKey)
    {
        _app = app;
        ApiKey = apiKey;
    }

    /// <summary>The server's address (known once it has started).</summary>
    public string BaseUrl => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public string ApiKey { get; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Answers every request with this instead of the script (an API that is down, say).</summary>
    public FakeReply? Always { get; set; }

    /// <summary>Set when a stalled reply has started (the client is now waiting on a stream that says nothing).</summary>
    public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int InputTokensPerMessage { get; set; } = 100;

    public int OutputTokensPerMessage { get; set; } = 20;

    public static async Task<FakeMessagesApi> StartAsync(params FakeReply[] script)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeMessagesApi(app, "sk-ant-api03-fake-" + Guid.NewGuid().ToString("N"));
        foreach (var reply in script)
        {
            fake._script.Enqueue(reply);
        }

        app.MapPost("/v1/messages", fake.HandleAsync);
        await app.StartAsync();
        return fake;
    }

    public void Then(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var body = await JsonDocument.ParseAsync(http.Request.Body);
        var apiKey = http.Request.Headers["x-api-key"].FirstOrDefault();
        var model = body.RootElement.TryGetProperty("model", out var m) ? m.GetString() : null;
        _requests.Enqueue(new RecordedRequest(http.Request.Path + http.Request.QueryString, apiKey, model, body.RootElement.Clone()));

        if (apiKey != ApiKey)
        {
            await WriteErrorAsync(http, new FakeReply.Error(401, "authentication_error", "invalid x-api-key"));
            return;
        }

        var reply = Always ?? (_script.TryDequeue(out var next) ? next : new FakeReply.Text("Done."));
        if (reply is FakeReply.Error error)
        {
            await WriteErrorAsync(http, error);
            return;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var id = $"msg_fake_{Interlocked.Increment(ref _messageNumber):D4}";
        var aborted = http.RequestAborted;
        await SendAsync(http, "message_start", new
        {
            type = "message_start",
            message = new
            {
                id, type = "message", role = "assistant", model, content = Array.Empty<object>(),
                stop_reason = (string?)null, stop_sequence = (string?)null,
                usage = new { input_tokens = InputTokensPerMessage, output_tokens = 1, cache_creation_input_tokens = 0, cache_read_input_tokens = 0 },
            },
        });
        await SendAsync(http, "ping", new { type = "ping" });
        switch (reply)
        {
            case FakeReply.Text text:
                await TextBlockAsync(http, text.Content);
                await EndAsync(http, "end_turn");
                break;
            case FakeReply.ToolUse tool:
                await SendAsync(http, "content_block_start", new
                {
                    type = "content_block_start", index = 0,
                    content_block = new { type = "tool_use", id = "toolu_" + id, name = tool.Name, input = new { } },
                });
                await SendAsync(http, "content_block_delta", new
                {
                    type = "content_block_delta", index = 0,
                    delta = new { type = "input_json_delta", partial_json = JsonSerializer.Serialize(tool.Input) },
                });
                await SendAsync(http, "content_block_stop", new { type = "content_block_stop", index = 0 });
                await EndAsync(http, "tool_use");
                break;
            case FakeReply.Stall stall:
                await SendAsync(http, "content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
                await SendAsync(http, "content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = stall.Before } });
                Stalled.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, aborted);
                }
                catch (OperationCanceledException)
                {
                    // the client went away (it was killed): nothing more to send
                }

                break;
        }
    }

    private async Task TextBlockAsync(HttpContext http, string text)
    {
        await SendAsync(http, "content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
        await SendAsync(http, "content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text } });
        await SendAsync(http, "content_block_stop", new { type = "content_block_stop", index = 0 });
    }

    private async Task EndAsync(HttpContext http, string stopReason)
    {
        await SendAsync(http, "message_delta", new
        {
            type = "message_delta",
            delta = new { stop_reason = stopReason, stop_sequence = (string?)null },
            usage = new { output_tokens = OutputTokensPerMessage },
        });
        await SendAsync(http, "message_stop", new { type = "message_stop" });
    }

    private static async Task SendAsync(HttpContext http, string name, object data)
    {
        var frame = $"event: {name}\ndata: {JsonSerializer.Serialize(data)}\n\n";
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(frame), http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    private static async Task WriteErrorAsync(HttpContext http, FakeReply.Error error)
    {
        http.Response.StatusCode = error.Status;
        http.Response.ContentType = "application/json";
        foreach (var (name, value) in error.Headers ?? new Dictionary<string, string>())
        {
            http.Response.Headers[name] = value;
        }

        await http.Response.WriteAsync(JsonSerializer.Serialize(new { type = "error", error = new { type = error.Type, message = error.Message } }));
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(deadline.Token);
        await _app.DisposeAsync();
    }
}
