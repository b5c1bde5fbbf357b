using System.Globalization;
using System.Text;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Lines one commit (or the index) added to one file, with their line numbers in the new file: the whole file's, or
/// one chunk of a large one. Findings count only on the first <see cref="Owned"/> lines; the lines after them are the
/// next chunk's first lines, here so that a multi-line secret starting in an owned line is seen whole.
/// <see cref="Last"/> marks the file's last chunk; <see cref="CutLines"/> are owned lines that were longer than the
/// line bound and were read only in part.
/// </summary>
internal sealed record DiffFile(string Path, string? Commit, string? BlobId, string AddedText, int[] LineNumbers, bool Binary)
{
    public int Owned { get; init; } = LineNumbers.Length;

    public bool Last { get; init; } = true;

    public IReadOnlyList<int> CutLines { get; init; } = [];
}

/// <summary>
/// Reads the output of <c>git log -p -U0 --format=%x01%H</c> (or <c>git diff -U0</c>) line by line into added lines
/// per commit and file. Hunks are read by their line counts, never by guessing from a line's look, so an added line
/// that reads like a diff header ("+++ b/x", "diff --git") stays content. Memory stays bounded: a file's added lines
/// are handed on in chunks of about <c>chunkChars</c> characters (each with the next
/// <see cref="SecretEngine.MultilineWindow"/> characters after it, see <see cref="DiffFile.Owned"/>), never whole.
/// </summary>
internal sealed class DiffReader(Action<DiffFile> onFile, int chunkChars = DiffReader.DefaultChunkChars)
{
    public const char CommitMarker = '\u0001';
    public const int DefaultChunkChars = 1024 * 1024;

    private readonly StringBuilder _added = new();
    private readonly List<int> _numbers = [];
    private readonly List<int> _starts = [];
    private readonly List<int> _cut = [];
    private string? _commit;
    private string? _path;
    private string? _blob;
    private bool _binary;
    private int _oldLeft, _newLeft, _newLine;

    /// <summary>Reads a whole diff held in memory (tests, small outputs).</summary>
    public static void Read(string output, Action<DiffFile> onFile)
    {
        var reader = new DiffReader(onFile);
        var position = 0;
        while (position < output.Length)
        {
            var end = output.IndexOf('\n', position);
            if (end < 0)
            {
                end = output.Length;
            }

            reader.Line(output.AsSpan(position, end - position), cut: false);
            position = end + 1;
        }

        reader.Finish();
    }

    /// <summary>The next line of the diff, without its '\n'; <paramref name="cut"/> when only its start was read.</summary>
    public void Line(ReadOnlySpan<char> line, bool cut)
    {
        if (_oldLeft > 0 || _newLeft > 0)
        {
            if (line.StartsWith("\\"))
            {
                return; // "\ No newline at end of file"
            }

            var kind = line.IsEmpty ? ' ' : line[0];
            if (kind == '+' && _newLeft > 0)
            {
                if (_numbers.Count > 0)
                {
                    _added.Append('\n');
                }

                var content = line[1..];
                _binary |= content.Contains('\0');
                _starts.Add(_added.Length);
                _added.Append(content);
                if (cut)
                {
                    _cut.Add(_newLine);
                }

                _numbers.Add(_newLine++);
                _newLeft--;
                if (_added.Length >= chunkChars + SecretEngine.MultilineWindow)
                {
                    EmitChunk();
                }
            }
            else if (kind == '-' && _oldLeft > 0)
            {
                _oldLeft--;
            }
            else
            {
                // A context line (none with -U0, but a user's diff.context setting must not confuse us).
                _oldLeft = Math.Max(0, _oldLeft - 1);
                _newLeft = Math.Max(0, _newLeft - 1);
                _newLine++;
            }

            return;
        }

        if (line.Length > 0 && line[0] == CommitMarker)
        {
            Flush();

            _commit = line[1..].Trim().ToString();
        }
        else if (line.StartsWith("diff "))
        {
            Flush();
        }
        else if (line.StartsWith("+++ "))
        {
            _path = ParsePath(line[4..]);
        }
        else if (line.StartsWith("index ") && line.IndexOf("..") is var dots and > 0)
        {
            var rest = line[(dots + 2)..];
            var space = rest.IndexOf(' ');
            _blob = (space < 0 ? rest : rest[..space]).ToString();
        }
        else if (line.StartsWith("@@ "))
        {
            (_oldLeft, _newLeft, _newLine) = ParseHunk(line);
        }
    }

    /// <summary>The end of the diff: hands on the last file.</summary>
    public void Finish() => Flush();

    /// <summary>
    /// Hands on the lines whose start has at least <see cref="SecretEngine.MultilineWindow"/> characters after it in
    /// the buffer (with the buffer's rest as look-ahead) and keeps the rest for the next chunk.
    /// </summary>
    private void EmitChunk()
    {
        var owned = 0;
        while (owned < _starts.Count && _starts[owned] + SecretEngine.MultilineWindow <= _added.Length)
        {
            owned++;
        }

        if (owned == 0 || owned == _starts.Count)
        {
            return; // only when one line is the whole look-ahead; it is handed on with the next line or the file's end
        }

        var lastOwned = _numbers[owned - 1];
        onFile(new DiffFile(_path ?? "", _commit, _blob, _added.ToString(), [.. _numbers], _binary)
        {
            Owned = owned,
            Last = false,
            CutLines = [.. _cut.Where(n => n <= lastOwned)],
        });
        var removed = _starts[owned];
        _added.Remove(0, removed);
        _numbers.RemoveRange(0, owned);
        _starts.RemoveRange(0, owned);
        for (var i = 0; i < _starts.Count; i++)
        {
            _starts[i] -= removed;
        }

        _cut.RemoveAll(n => n <= lastOwned);
    }

    private void Flush()
    {
        if (_path is not null && _numbers.Count > 0)
        {
            onFile(new DiffFile(_path, _commit, _blob, _added.ToString(), [.. _numbers], _binary) { CutLines = [.. _cut] });
        }

        _path = null;
        _blob = null;
        _binary = false;
        _added.Clear();
        _numbers.Clear();
        _starts.Clear();
        _cut.Clear();
        _oldLeft = _newLeft = 0;
    }

    /// <summary>"@@ -a[,b] +c[,d] @@": lines removed, lines added, first new line number.</summary>
    internal static (int OldCount, int NewCount, int NewStart) ParseHunk(ReadOnlySpan<char> header)
    {
        var minus = header.IndexOf('-');
        var plus = header.IndexOf('+');
        var close = header[(plus + 1)..].IndexOf(' ');
        if (minus < 0 || plus < minus || close < 0)
        {
            throw new FormatException($"unexpected hunk header: {header}");
        }

        var (_, oldCount) = Range(header[(minus + 1)..plus].Trim());
        var (newStart, newCount) = Range(header.Slice(plus + 1, close));
        return (oldCount, newCount, newStart);

        static (int Start, int Count) Range(ReadOnlySpan<char> text)
        {
            var comma = text.IndexOf(',');
            return comma < 0
                ? (int.Parse(text, CultureInfo.InvariantCulture), 1)
                : (int.Parse(text[..comma], CultureInfo.InvariantCulture), int.Parse(text[(comma + 1)..], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The path of a "+++ " line: "b/x", a C-quoted "\"b/x\"" (git quotes unusual names), or /dev/null.</summary>
    internal static string? ParsePath(ReadOnlySpan<char> text)
    {
        // Git ends the line with a tab when the name has a space (as patch(1) wants).
        var value = text.TrimEnd('\r').TrimEnd('\t');
        if (value.StartsWith("\"") && value.Length >= 2 && value[^1] == '"')
        {
            value = Unquote(value[1..^1]);
        }

        if (value.SequenceEqual("/dev/null"))
        {
            return null;
        }

        return value.StartsWith("b/") ? value[2..].ToString() : value.ToString();
    }

    private static string Unquote(ReadOnlySpan<char> quoted)
    {
        var bytes = new List<byte>(quoted.Length);
        for (var i = 0; i < quoted.Length; i++)
        {
            var c = quoted[i];
            if (c != '\\' || i + 1 == quoted.Length)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
                continue;
            }

            var e = quoted[++i];
            if (e is >= '0' and <= '3' && i + 2 < quoted.Length)
            {
                bytes.Add((byte)(((e - '0') << 6) | ((quoted[i + 1] - '0') << 3) | (quoted[i + 2] - '0')));
                i += 2;
                continue;
            }

            bytes.Add(e switch
            {
                'n' => (byte)'\n',
                't' => (byte)'\t',
                'r' => (byte)'\r',
                'a' => 7,
                'b' => 8,
                'f' => 12,
                'v' => 11,
                _ => (byte)e,
            });
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }
}
