using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// The head of one HTTP/1.x proxy request: `CONNECT host:port` or an absolute-form `METHOD http://host[:port]/path`.
/// Strict on purpose (CRLF line ends, no obs-fold, no whitespace before a header's colon, no control bytes): what is
/// forwarded must mean the same thing to the upstream as it meant to the check.
/// </summary>
internal sealed record ProxyRequestHead(string Method, string Host, int Port, string PathAndQuery, string Version, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    // Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own. Transfer-Encoding stays: the body passes through as
    // it came, framing included. Upgrade goes: a forwarded request is one exchange, not a protocol switch.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "TE", "Upgrade",
    };

    public bool IsConnect => Method == "CONNECT";

    /// <summary>Where the head ends (after its blank line) in <paramref name="buffer"/>, if it has arrived.</summary>
    public static SequencePosition? FindEnd(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, HeadEnd, advancePastDelimiter: true) ? reader.Position : null;
    }

    public static bool TryParse(ReadOnlySequence<byte> head, [NotNullWhen(true)] out ProxyRequestHead? request, [NotNullWhen(false)] out string? error)
    {
        request = null;
        var text = Encoding.Latin1.GetString(head);
        var lines = text[..^4].Split("\r\n");
        foreach (var line in lines)
        {
            if (line.Any(c => c is < ' ' and not '\t' or '\x7f'))
            {
                error = "control characters or a bare CR/LF in the request head";
                return false;
            }
        }

        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || parts[0].Length == 0 || !parts[0].All(IsTokenChar) || parts[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            error = "the request line is not 'METHOD target HTTP/1.1'";
            return false;
        }

        var headers = new List<KeyValuePair<string, string>>(lines.Length - 1);
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !line.AsSpan(0, colon).ToString().All(IsTokenChar))
            {
                error = "a header line is not 'Name: value'";
                return false;
            }

            headers.Add(new(line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }

        var (method, target) = (parts[0], parts[1]);
        string authority;
        int? defaultPort;
        var pathAndQuery = "";
        if (method == "CONNECT")
        {
            (authority, defaultPort) = (target, null);
        }
        else if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            var rest = target["http://".Length..];
            var slash = rest.IndexOfAny(['/', '?']);
            authority = slash < 0 ? rest : rest[..slash];
            pathAndQuery = slash < 0 ? "/" : rest[slash] == '?' ? "/" + rest[slash..] : rest[slash..];
            defaultPort = 80;
            if (pathAndQuery.Contains('#', StringComparison.Ordinal))
            {
                pathAndQuery = pathAndQuery[..pathAndQuery.IndexOf('#', StringComparison.Ordinal)];
            }
        }
        else
        {
            error = target.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                ? "https goes through CONNECT, not an absolute https:// URL"
                : "this is a proxy: send CONNECT host:port or an absolute http:// URL";
            return false;
        }

        if (authority.Contains('@', StringComparison.Ordinal))
        {
            error = "credentials in the URL are not forwarded";
            return false;
        }

        if (!EgressHost.TryParseAuthority(authority, out var host, out var port, out var why))
        {
            error = $"bad target '{authority}': {why}";
            return false;
        }

        if ((port ?? defaultPort) is not { } resolvedPort)
        {
            error = "CONNECT needs host:port";
            return false;
        }

        request = new ProxyRequestHead(method, host, resolvedPort, pathAndQuery, parts[2], headers);
        error = null;
        return true;
    }

    /// <summary>
    /// The head to send the origin: origin-form request line, the Host the URL named, no hop-by-hop or Proxy-*
    /// headers, and `Connection: close` so the exchange ends with the upstream's answer (one request per connection).
    /// </summary>
    public byte[] ToOriginForm()
    {
        var dropped = new HashSet<string>(NotForwarded, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in Headers)
        {
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase))
            {
                dropped.UnionWith(value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            }
        }

        // Content-Length and Transfer-Encoding cannot be dropped through Connection: the body is passed through as framed.
        dropped.Remove("Content-Length");
        dropped.Remove("Transfer-Encoding");
        var head = new StringBuilder();
        head.Append(Method).Append(' ').Append(PathAndQuery).Append(' ').Append(Version).Append("\r\n");
        head.Append("Host: ").Append(EgressHost.Format(Host, Port, defaultPort: 80)).Append("\r\n");
        foreach (var (name, value) in Headers)
        {
            if (!dropped.Contains(name) && !name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase))
            {
                head.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        head.Append("Connection: close\r\n\r\n");
        return Encoding.Latin1.GetBytes(head.ToString());
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
