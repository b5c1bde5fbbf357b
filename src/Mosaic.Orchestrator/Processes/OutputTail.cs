using System.Text;

namespace Mosaic.Orchestrator.Processes;

/// <summary>Which of a process's output streams a tail keeps.</summary>
[Flags]
public enum OutputStreams
{
    StandardOutput = 1,
    StandardError = 2,
    Both = StandardOutput | StandardError,
}

/// <summary>What to keep of a process's output: the last <paramref name="MaxChars"/> characters of the chosen streams.</summary>
public sealed record OutputTailOptions(int MaxChars, OutputStreams Streams = OutputStreams.Both);

/// <summary>
/// The last characters a process wrote, line by line (each line followed by a newline), of the streams it was asked
/// for: a command's answer, Claude Code's stderr, a gate's output. Fed from both output readers at once, so locked.
/// </summary>
public sealed class OutputTail(OutputTailOptions options)
{
    private readonly StringBuilder _text = new();

    /// <summary>The kept text, at most <see cref="OutputTailOptions.MaxChars"/> characters; null when nothing was kept.</summary>
    public string? Text
    {
        get
        {
            lock (_text)
            {
                var start = Math.Max(0, _text.Length - options.MaxChars);
                return _text.Length == start ? null : _text.ToString(start, _text.Length - start);
            }
        }
    }

    /// <summary>What sees each line: the caller's handler and this tail, either, or none.</summary>
    public static OutputLineHandler? Alongside(OutputLineHandler? caller, OutputTail? tail) => (caller, tail) switch
    {
        (_, null) => caller,
        (null, { } kept) => kept.Add,
        ({ } both, { } kept) => (line, standardError) =>
        {
            both(line, standardError);
            kept.Add(line, standardError);
        },
    };

    public void Add(ReadOnlySpan<byte> line, bool standardError)
    {
        if (!options.Streams.HasFlag(standardError ? OutputStreams.StandardError : OutputStreams.StandardOutput))
        {
            return;
        }

        var text = Encoding.UTF8.GetString(line);
        lock (_text)
        {
            _text.Append(text).Append('\n');
            // Cut only once twice the cap is held: a chatty process costs one copy per cap's worth of output.
            if (_text.Length > options.MaxChars * 2)
            {
                _text.Remove(0, _text.Length - options.MaxChars);
            }
        }
    }
}
