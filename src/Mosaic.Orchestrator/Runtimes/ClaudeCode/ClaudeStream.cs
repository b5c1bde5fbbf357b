using System.Text.Json;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>
/// Reads Claude Code's stream-json output (one JSON object per line, keyed on "type") into what the record keeps:
/// session, model, turns, tokens (each message id counted once), tool calls, and the final result line. Lines that
/// are not JSON, and types it does not know, are skipped: the CLI adds types between versions. Thread-safe: the
/// process's output reader feeds it while the watchdog reads it.
/// </summary>
public sealed class ClaudeStream(TimeProvider time)
{
    public const int MaxResultChars = 16 * 1024;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TokenUsage> _usageByMessage = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _started = time.GetUtcNow();
    private string? _sessionId;
    private string? _model;
    private int _assistantMessages;
    private int _toolCalls;
    private string? _lastTool;
    private ClaudeResult? _result;
    private DateTimeOffset? _lastOutputAt;
    private DateTimeOffset? _resultAt;
    private long _changes;

    /// <summary>When the process last wrote anything (its start until then).</summary>
    public DateTimeOffset LastOutputAt
    {
        get
        {
            lock (_gate)
            {
                return _lastOutputAt ?? _started;
            }
        }
    }

    /// <summary>When the result line arrived; null until it has.</summary>
    public DateTimeOffset? ResultAt
    {
        get
        {
            lock (_gate)
            {
                return _resultAt;
            }
        }
    }

    /// <summary>The session the CLI reported (its init line, then the result line).</summary>
    public string? SessionId
    {
        get
        {
            lock (_gate)
            {
                return _sessionId;
            }
        }
    }

    public ClaudeResult? Result
    {
        get
        {
            lock (_gate)
            {
                return _result;
            }
        }
    }

    /// <summary>Bumped whenever something reportable changed: progress is published only then.</summary>
    public long Changes => Interlocked.Read(ref _changes);

    /// <summary>Any output, on stdout or stderr, shows the process is alive.</summary>
    public void Touch()
    {
        lock (_gate)
        {
            _lastOutputAt = time.GetUtcNow();
        }
    }

    public void Accept(ReadOnlySpan<byte> line)
    {
        Touch();
        if (line.IsEmpty || line[0] != (byte)'{')
        {
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line.ToArray());
        }
        catch (JsonException)
        {
            return; // a torn or foreign line: the log keeps it, the record does not need it
        }

        // Anything a line can make a reader throw (a lone surrogate in a string, say) stops at this line: the output
        // pump must go on draining, or the CLI would block on a full pipe.
        try
        {
            AcceptDocument(document);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            // the line is skipped; the log keeps it
        }
        finally
        {
            document.Dispose();
        }
    }

    private void AcceptDocument(JsonDocument document)
    {
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || String(root, "type") is not { } type)
        {
            return;
        }

        lock (_gate)
        {
            switch (type)
            {
                case "system" when String(root, "subtype") == "init":
                    _sessionId = String(root, "session_id") ?? _sessionId;
                    _model = String(root, "model") ?? _model;
                    break;
                case "assistant":
                    AcceptAssistant(root);
                    break;
                case "result":
                    _result = ClaudeResult.From(root);
                    _sessionId = _result.SessionId ?? _sessionId;
                    _resultAt = time.GetUtcNow();
                    break;
                default:
                    return;
            }
        }

        Interlocked.Increment(ref _changes);
    }

    private void AcceptAssistant(JsonElement root)
    {
        if (!root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        // The CLI writes one line per content block, each repeating the message id and its usage: count it once.
        if (String(message, "id") is { } id)
        {
            if (!_usageByMessage.ContainsKey(id))
            {
                _assistantMessages++;
            }

            if (message.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                _usageByMessage[id] = Tokens(usage);
            }
        }

        _model ??= String(message, "model");
        if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
        {
            foreach (var block in content.EnumerateArray())
            {
                if (block.ValueKind == JsonValueKind.Object && String(block, "type") == "tool_use")
                {
                    _toolCalls++;
                    _lastTool = String(block, "name");
                }
            }
        }
    }

    /// <summary>The record's view of the attempt so far; the result line, once there, is authoritative.</summary>
    public AgentRunReport Snapshot(int attempt)
    {
        lock (_gate)
        {
            var summed = _usageByMessage.Count == 0
                ? null
                : new TokenUsage(
                    _usageByMessage.Values.Sum(u => u.Input),
                    _usageByMessage.Values.Sum(u => u.Output),
                    _usageByMessage.Values.Sum(u => u.CacheRead),
                    _usageByMessage.Values.Sum(u => u.CacheCreation));
            return new AgentRunReport
            {
                Runtime = "claude-code",
                Attempt = attempt,
                SessionId = _sessionId,
                Model = _model,
                Turns = _result?.NumTurns ?? (_assistantMessages == 0 ? null : _assistantMessages),
                DurationMs = _result?.DurationMs,
                ApiDurationMs = _result?.ApiDurationMs,
                CostUsd = _result?.TotalCostUsd,
                Tokens = _result?.Usage ?? summed,
                ToolCalls = _toolCalls,
                Result = _result?.Text,
                Subtype = _result?.Subtype,
                TerminalReason = _result?.TerminalReason,
                ApiErrorStatus = _result?.ApiErrorStatus,
                PermissionDenials = _result?.PermissionDenials,
            };
        }
    }

    /// <summary>What a progress event says: small, and never the content of messages or tool inputs.</summary>
    public object Progress()
    {
        lock (_gate)
        {
            return new
            {
                messages = _assistantMessages,
                toolCalls = _toolCalls,
                lastTool = _lastTool,
                outputTokens = _usageByMessage.Values.Sum(u => u.Output),
            };
        }
    }

    internal static TokenUsage Tokens(JsonElement usage) => new(
        Long(usage, "input_tokens") ?? 0,
        Long(usage, "output_tokens") ?? 0,
        Long(usage, "cache_read_input_tokens") ?? 0,
        Long(usage, "cache_creation_input_tokens") ?? 0);

    internal static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static long? Long(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    /// <summary>Finite numbers only: an overflowing figure (1e400 reads as infinity) would make the record unwritable as JSON.</summary>
    internal static double? Double(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.GetDouble() is var number && double.IsFinite(number) ? number : null;
}

/// <summary>The stream's last line: how the CLI says the run ended.</summary>
public sealed record ClaudeResult(
    string? Subtype,
    bool IsError,
    int? NumTurns,
    long? DurationMs,
    long? ApiDurationMs,
    double? TotalCostUsd,
    TokenUsage? Usage,
    string? Text,
    string? SessionId,
    string? TerminalReason,
    int? ApiErrorStatus,
    IReadOnlyList<PermissionDenial> PermissionDenials)
{
    public static ClaudeResult From(JsonElement line)
    {
        var denials = new List<PermissionDenial>();
        if (line.TryGetProperty("permission_denials", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var denial in list.EnumerateArray().Where(d => d.ValueKind == JsonValueKind.Object))
            {
                denials.Add(new PermissionDenial(ClaudeStream.String(denial, "tool_name") ?? "unknown", ClaudeStream.String(denial, "tool_use_id")));
            }
        }

        var text = ClaudeStream.String(line, "result");
        return new ClaudeResult(
            ClaudeStream.String(line, "subtype"),
            line.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True,
            (int?)ClaudeStream.Long(line, "num_turns"),
            ClaudeStream.Long(line, "duration_ms"),
            ClaudeStream.Long(line, "duration_api_ms"),
            ClaudeStream.Double(line, "total_cost_usd"),
            line.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object ? ClaudeStream.Tokens(usage) : null,
            // The end is kept: a reviewer's verdict comes last.
            text is { Length: > ClaudeStream.MaxResultChars } ? "[truncated] " + text[^ClaudeStream.MaxResultChars..] : text,
            ClaudeStream.String(line, "session_id"),
            ClaudeStream.String(line, "terminal_reason"),
            (int?)ClaudeStream.Long(line, "api_error_status"),
            denials);
    }

    /// <summary>True when the CLI says the work was done: success subtype and no error flag (API errors come as subtype success with is_error).</summary>
    public bool Succeeded => !IsError && Subtype == "success";
}
