namespace Mosaic.Orchestrator.Processes;

/// <summary>An agent's output log, capped at AGENT_LOG_MAX_BYTES; the pipes are drained to their end even when nothing more is logged.</summary>
internal sealed class CappedLog(string path, long maxBytes) : IDisposable
{
    private readonly FileStream _file = new(path, FileMode.Append, FileAccess.Write, FileShare.Read);
    private readonly Lock _gate = new();
    private long _written;
    private bool _truncated;
    private bool _disposed;

    public async Task CopyFromAsync(Stream source, LineSplitter? lines)
    {
        var buffer = new byte[8192];
        int read;
        while ((read = await source.ReadAsync(buffer)) > 0)
        {
            Write(buffer.AsSpan(0, read));
            lines?.Feed(buffer.AsSpan(0, read));
        }

        lines?.Flush();
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return; // a straggler still writing after the run ended: nothing left to log to
            }

            var room = maxBytes - _written;
            if (room <= 0)
            {
                if (!_truncated)
                {
                    _truncated = true;
                    try
                    {
                        _file.Write("\n[mosaic: log truncated at AGENT_LOG_MAX_BYTES]\n"u8);
                        _file.Flush();
                    }
                    catch (IOException)
                    {
                        // nothing more can be logged; the pipe is still drained
                    }
                }

                return;
            }

            var part = bytes[..(int)Math.Min(room, bytes.Length)];
            try
            {
                _file.Write(part);
                _file.Flush();
                _written += part.Length;
            }
            catch (IOException)
            {
                // Disk full or broken: stop logging but keep draining the pipe, or the agent would block on
                // its output until its time limit.
                _written = maxBytes;
                _truncated = true;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _file.Dispose();
        }
    }
}

/// <summary>
/// Cuts a byte stream into lines for <see cref="OutputLineHandler"/>. A line longer than <see cref="MaxLineBytes"/>
/// is dropped whole (the log still has its start): one runaway line must not grow memory without bound.
/// </summary>
internal sealed class LineSplitter(OutputLineHandler handler, bool standardError)
{
    public const int MaxLineBytes = 16 * 1024 * 1024;
    private readonly BoundedBytes _pending = new(4096, MaxLineBytes);
    private bool _overlong;

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            var part = newline < 0 ? bytes : bytes[..newline];
            Append(part);
            if (newline < 0)
            {
                return;
            }

            EndLine();
            bytes = bytes[(newline + 1)..];
        }
    }

    public void Flush()
    {
        if (_pending.Length > 0 || _overlong)
        {
            EndLine();
        }
    }

    private void Append(ReadOnlySpan<byte> part)
    {
        if (!_overlong && !_pending.TryAppend(part))
        {
            _overlong = true;
            _pending.Clear();
        }
    }

    private void EndLine()
    {
        if (!_overlong)
        {
            var line = _pending.Span;
            handler(line.EndsWith((byte)'\r') ? line[..^1] : line, standardError);
        }

        _overlong = false;
        _pending.Clear();
    }
}
