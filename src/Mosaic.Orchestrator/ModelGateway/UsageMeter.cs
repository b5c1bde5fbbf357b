using System.Text;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>
/// Reads the usage figures of a Messages API response as its bytes pass through, without holding or changing them:
/// a streamed response's <c>message_start</c> (input, cache read and creation, and the first output count) and
/// <c>message_delta</c> events (the output count so far, cumulative), or a plain JSON response's <c>usage</c>.
/// </summary>
public sealed class UsageMeter
{
    private const int MaxLineBytes = 1024 * 1024;
    private readonly List<byte> _line = [];
    private readonly bool _streamed;
    private long _input;
    private long _output;
    private long _cacheRead;
    private long _cacheCreation;
    private bool _overlong;

    public UsageMeter(bool streamed) => _streamed = streamed;

    public TokenUsage Tokens => new(_input, _output, _cacheRead, _cacheCreation);

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        if (!_streamed)
        {
            // A plain response is one JSON document: kept (bounded) and read at the end.
            if (_line.Count + bytes.Length <= MaxLineBytes * 4)
            {
                _line.AddRange(bytes);
            }

            return;
        }

        foreach (var b in bytes)
        {
            if (b == (byte)'\n')
            {
                EndLine();
            }
            else if (_line.Count < MaxLineBytes)
            {
                _line.Add(b);
            }
            else
            {
                _overlong = true;
            }
        }
    }

    public void Complete()
    {
        if (!_streamed)
        {
            Read(_line.ToArray(), plain: true);
            _line.Clear();
            return;
        }

        EndLine();
    }

    private void EndLine()
    {
        var line = _line.ToArray();
        _line.Clear();
        var overlong = _overlong;
        _overlong = false;
        const string data = "data:";
        if (overlong || line.Length <= data.Length || !line.AsSpan().StartsWith(Encoding.ASCII.GetBytes(data)))
        {
            return;
        }

        Read(line.AsSpan(data.Length).TrimStart((byte)' ').ToArray(), plain: false);
    }

    private void Read(byte[] json, bool plain)
    {
        if (json.Length == 0 || json.AsSpan().IndexOf("usage"u8) < 0)
        {
            return;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (plain || type == "message")
            {
                Usage(root, cumulativeOutput: false);
            }
            else if (type == "message_start" && root.TryGetProperty("message", out var message))
            {
                Usage(message, cumulativeOutput: false);
            }
            else if (type == "message_delta")
            {
                Usage(root, cumulativeOutput: true);
            }
        }
        catch (JsonException)
        {
            // Not ours to judge: the client gets the bytes as they came; the meter skips what it cannot read.
        }
    }

    private void Usage(JsonElement holder, bool cumulativeOutput)
    {
        if (!holder.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        // message_delta's usage is cumulative for the message: its output count replaces message_start's.
        if (Number(usage, "input_tokens") is { } input && !cumulativeOutput)
        {
            _input += input;
        }

        if (Number(usage, "output_tokens") is { } output)
        {
            _output = cumulativeOutput ? Math.Max(_output, output) : _output + output;
        }

        if (!cumulativeOutput)
        {
            _cacheRead += Number(usage, "cache_read_input_tokens") ?? 0;
            _cacheCreation += Number(usage, "cache_creation_input_tokens") ?? 0;
        }
    }

    private static long? Number(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : null;
}
