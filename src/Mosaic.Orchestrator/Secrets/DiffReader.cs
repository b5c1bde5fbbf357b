using System.Globalization;
using System.Text;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>The lines one commit (or the index) added to one file, with their line numbers in the new file.</summary>
internal sealed record DiffFile(string Path, string? Commit, string? BlobId, string AddedText, int[] LineNumbers, bool Binary);

/// <summary>
/// Reads the output of <c>git log -p -U0 --format=%x01%H</c> (or <c>git diff -U0</c>) into added lines per commit and
/// file. Hunks are read by their line counts, never by guessing from a line's look, so an added line that reads like a
/// diff header ("+++ b/x", "diff --git") stays content.
/// </summary>
internal static class DiffReader
{
    public const char CommitMarker = '\u0001';

    public static void Read(string output, Action<DiffFile> onFile)
    {
        string? commit = null;
        string? path = null;
        string? blob = null;
        var added = new StringBuilder();
        var numbers = new List<int>();
        var binary = false;
        int oldLeft = 0, newLeft = 0, newLine = 0;
        var position = 0;
        while (position < output.Length)
        {
            var end = output.IndexOf('\n', position);
            if (end < 0)
            {
                end = output.Length;
            }

            var line = output.AsSpan(position, end - position);
            position = end + 1;
            if (oldLeft > 0 || newLeft > 0)
            {
                if (line.StartsWith("\\"))
                {
                    continue; // "\ No newline at end of file"
                }

                var kind = line.IsEmpty ? ' ' : line[0];
                if (kind == '+' && newLeft > 0)
                {
                    if (numbers.Count > 0)
                    {
                        added.Append('\n');
                    }

                    var content = line[1..];
                    binary |= content.Contains('\0');
                    added.Append(content);
                    numbers.Add(newLine++);
                    newLeft--;
                }
                else if (kind == '-' && oldLeft > 0)
                {
                    oldLeft--;
                }
                else
                {
                    // A context line (none with -U0, but a user's diff.context setting must not confuse us).
                    oldLeft = Math.Max(0, oldLeft - 1);
                    newLeft = Math.Max(0, newLeft - 1);
                    newLine++;
                }

                continue;
            }

            if (line.Length > 0 && line[0] == CommitMarker)
            {
                Flush();

                commit = line[1..].Trim().ToString();
            }
            else if (line.StartsWith("diff "))
            {
                Flush();
            }
            else if (line.StartsWith("+++ "))
            {
                path = ParsePath(line[4..]);
            }
            else if (line.StartsWith("index ") && line.IndexOf("..") is var dots and > 0)
            {
                var rest = line[(dots + 2)..];
                var space = rest.IndexOf(' ');
                blob = (space < 0 ? rest : rest[..space]).ToString();
            }
            else if (line.StartsWith("@@ "))
            {
                (oldLeft, newLeft, newLine) = ParseHunk(line);
            }
        }

        Flush();

        void Flush()
        {
            if (path is not null && numbers.Count > 0)
            {
                onFile(new DiffFile(path, commit, blob, added.ToString(), [.. numbers], binary));
            }

            path = null;
            blob = null;
            binary = false;
            added.Clear();
            numbers.Clear();
            oldLeft = newLeft = 0;
        }
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
