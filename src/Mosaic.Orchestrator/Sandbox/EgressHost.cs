using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// Hosts and authorities as the egress rules compare them: a name in lower-case ASCII (IDN as punycode) without its
/// trailing dot, or an IP address in its canonical text. The same code reads an allowlist entry and a request's
/// target, so a name the agent spells differently (`API.Example.COM.`, `bücher.de`) meets the rule it would match.
/// </summary>
internal static class EgressHost
{
    private const int MaxNameLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>Splits `host`, `host:port`, `[v6]` or `[v6]:port`; the port is null when absent.</summary>
    public static bool TryParseAuthority(string text, [NotNullWhen(true)] out string? host, out int? port, [NotNullWhen(false)] out string? error)
    {
        host = null;
        port = null;
        string hostText;
        string? portText = null;
        var bracketed = text.StartsWith('[');
        if (bracketed)
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = "an IPv6 address needs its closing ']'";
                return false;
            }

            hostText = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    error = "only ':port' may follow ']'";
                    return false;
                }

                portText = rest[1..];
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && text.IndexOf(':', colon + 1) >= 0)
            {
                error = "an IPv6 address must be in brackets, e.g. [2001:db8::1]:443";
                return false;
            }

            hostText = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? null : text[(colon + 1)..];
        }

        if (portText is not null)
        {
            if (portText.Length is 0 or > 5 || !portText.All(char.IsAsciiDigit) || int.Parse(portText, CultureInfo.InvariantCulture) is < 1 or > 65535)
            {
                error = $"'{portText}' is not a port (1-65535)";
                return false;
            }

            port = int.Parse(portText, CultureInfo.InvariantCulture);
        }

        if (!TryNormalize(hostText, bracketed, out host, out _, out error))
        {
            return false;
        }

        return true;
    }

    /// <summary>
    /// The canonical form of a host: an address when it parses as one (so `127.1` and `2130706433` are the IP literal
    /// 127.0.0.1, not names), else a validated name. <paramref name="bracketed"/> says it came from `[...]`.
    /// </summary>
    public static bool TryNormalize(string text, bool bracketed, [NotNullWhen(true)] out string? host, out IPAddress? address, [NotNullWhen(false)] out string? error)
    {
        host = null;
        address = null;
        if (bracketed)
        {
            if (text.Contains('%', StringComparison.Ordinal) || !IPAddress.TryParse(text, out address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'[{text}]' is not an IPv6 address";
                return false;
            }

            host = address.ToString();
            error = null;
            return true;
        }

        var name = text.EndsWith('.') ? text[..^1] : text;
        if (name.Length == 0)
        {
            error = "the host is empty";
            return false;
        }

        // Only the characters an IPv4 literal can have: IPAddress reads every form inet_aton does (hex, octal, 127.1).
        if (name.All(c => char.IsAsciiHexDigit(c) || c is '.' or 'x' or 'X') && IPAddress.TryParse(name, out address) && address.AddressFamily == AddressFamily.InterNetwork)
        {
            host = address.ToString();
            error = null;
            return true;
        }

        address = null;
        name = name.ToLowerInvariant();
        if (!name.All(char.IsAscii))
        {
            try
            {
                name = new IdnMapping().GetAscii(name);
            }
            catch (ArgumentException)
            {
                error = $"'{text}' is not a valid internationalised name";
                return false;
            }
        }

        name = name.ToLowerInvariant();   // punycode keeps the case of ASCII letters that came with it
        if (name.Length > MaxNameLength)
        {
            error = $"'{text}' is longer than {MaxNameLength} characters";
            return false;
        }

        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > MaxLabelLength || !label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                error = $"'{text}' is not a host name";
                return false;
            }
        }

        host = name;
        error = null;
        return true;
    }

    /// <summary>How a host goes back into an authority or a Host header.</summary>
    public static string Format(string host, int port, int? defaultPort = null)
    {
        var h = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return port == defaultPort ? h : $"{h}:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// An address that reaches this host, its link or a private network (loopback, unspecified, link-local such as the
    /// cloud metadata service, RFC 1918, carrier-grade NAT, IPv6 unique-local, multicast). A name matched only by a
    /// wildcard must not lead there: whoever controls the subdomain's DNS would otherwise reach the service itself.
    /// </summary>
    public static bool IsNonPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 100 && b[1] is >= 64 and <= 127);
        }

        return IPAddress.IsLoopback(address) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal
            || address.IsIPv6Multicast || address.IsIPv6UniqueLocal;
    }
}
