using System.Buffers;
using System.IO.Compression;
using System.Text;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Finds runs of base64 or hex in text and decodes them (and gzip inside them), so a key written encoded (a base64
/// config, a Kubernetes value, <c>echo ... | base64</c>) is scanned as the text it stands for. Bounded: runs of
/// <see cref="MinRunChars"/> to <see cref="MaxRunChars"/> characters, at most <see cref="MaxDecodedBytes"/> bytes out of
/// one run (gzip included), and only decoded text that is text (valid UTF-8, printable) is scanned.
/// </summary>
internal static class EncodedValues
{
    /// <summary>The shortest run decoded: 24 base64 characters are 18 bytes, about the shortest password worth a look.</summary>
    public const int MinRunChars = 24;

    /// <summary>The longest run decoded (1 MiB); a longer one is decoded in its first part.</summary>
    public const int MaxRunChars = 1024 * 1024;

    /// <summary>At most this many bytes come out of one run, gzip included: a compression bomb inside base64 stops here.</summary>
    public const int MaxDecodedBytes = 256 * 1024;

    private static readonly SearchValues<char> RunChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-");
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly bool[] IsRunChar = BuildTable();

    /// <summary>
    /// Calls <paramref name="onRun"/> with the start and end of every run of base64/hex characters at least
    /// <see cref="MinRunChars"/> long. Most text has short runs (words, identifiers): the search looks at the character
    /// <see cref="MinRunChars"/> past the last non-run character and, when it is not one, skips that far at once.
    /// </summary>
    public static void FindRuns(ReadOnlySpan<char> text, Action<int, int> onRun)
    {
        var last = -1; // the last position known not to be a run character
        var probe = last + MinRunChars;
        while (probe < text.Length)
        {
            if (!RunChar(text[probe]))
            {
                last = probe;
                probe = last + MinRunChars;
                continue;
            }

            var back = probe - 1;
            while (back > last && RunChar(text[back]))
            {
                back--;
            }

            if (back > last)
            {
                last = back;
                probe = last + MinRunChars;
                continue;
            }

            var end = text[probe..].IndexOfAnyExcept(RunChars) is var stop and >= 0 ? probe + stop : text.Length;
            // '=' is padding at the end of a value; inside a run it joins a name to its value (key=dmFsdWU=): split there.
            var start = last + 1;
            for (var at = start; at < end; at++)
            {
                if (text[at] == '=' && at + 1 < end && text[at + 1] != '=')
                {
                    if (at - start >= MinRunChars)
                    {
                        onRun(start, at);
                    }

                    start = at + 1;
                }
            }

            if (end - start >= MinRunChars)
            {
                onRun(start, end);
            }

            last = end;
            probe = last + MinRunChars;
        }
    }

    /// <summary>
    /// Decodes a run: hex when it is all hex digits (an even number), else base64 (standard or URL-safe, padding
    /// optional); gzip inside is inflated. Returns the text and what it was encoded as, or null when the run does not
    /// decode to text (most runs: identifiers, hashes and key bodies decode to binary).
    /// </summary>
    public static (string Text, string Encoding)? Decode(ReadOnlySpan<char> run)
    {
        if (run.Length > MaxRunChars)
        {
            run = run[..MaxRunChars];
        }

        byte[]? bytes;
        string kind;
        if (run.Length % 2 == 0 && !run.ContainsAnyExcept(HexDigits))
        {
            bytes = Convert.FromHexString(run);
            kind = "hex";
        }
        else
        {
            bytes = FromBase64(run);
            kind = "base64";
        }

        if (bytes is null)
        {
            return null;
        }

        if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            bytes = Gunzip(bytes);
            kind += "+gzip";
            if (bytes is null)
            {
                return null;
            }
        }

        return AsText(bytes) is { } text ? (text, kind) : null;
    }

    private static byte[]? FromBase64(ReadOnlySpan<char> run)
    {
        var trimmed = run.TrimEnd('=');
        // One alphabet per value: + or / with - or _ is a path, a slug or an identifier, not base64.
        var standard = trimmed.ContainsAny('+', '/');
        var urlSafe = trimmed.ContainsAny('-', '_');
        if ((standard && urlSafe) || trimmed.Contains('=') || trimmed.Length % 4 == 1)
        {
            return null;
        }

        var length = trimmed.Length;
        var padded = new char[(length + 3) / 4 * 4];
        for (var i = 0; i < length; i++)
        {
            padded[i] = trimmed[i] switch { '-' => '+', '_' => '/', var c => c };
        }

        padded.AsSpan(length).Fill('=');
        var bytes = new byte[padded.Length / 4 * 3];
        return Convert.TryFromBase64Chars(padded, bytes, out var written) ? bytes[..Math.Min(written, MaxDecodedBytes)] : null;
    }

    private static byte[]? Gunzip(byte[] compressed)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
            var buffer = new byte[MaxDecodedBytes];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = gzip.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += read;
            }

            return buffer[..total];
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The bytes as text when they are text: valid UTF-8, at least 12 characters, nearly all printable.</summary>
    internal static string? AsText(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 12)
        {
            return null;
        }

        var odd = 0;
        foreach (var b in bytes)
        {
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r') || b == 0x7f)
            {
                odd++;
            }
        }

        if (odd * 50 > bytes.Length || !System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return null;
        }

        var text = System.Text.Encoding.UTF8.GetString(bytes);
        var letters = 0;
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c) || char.IsPunctuation(c) || char.IsSymbol(c) || char.IsWhiteSpace(c))
            {
                letters++;
            }
        }

        return letters * 10 >= text.Length * 9 ? text : null;
    }

    private static bool RunChar(char c) => c < 128 && IsRunChar[c];

    private static bool[] BuildTable()
    {
        var table = new bool[128];
        foreach (var c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
        {
            table[c] = true;
        }

        return table;
    }
}
