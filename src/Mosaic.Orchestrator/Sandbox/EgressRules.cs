using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// Where a sandboxed agent may connect through the egress proxy: SANDBOX_EGRESS_ALLOW (a comma list of `host`,
/// `host:port`, `*.domain`, `*.domain:port`, IP literals with IPv6 in brackets) plus the endpoints the service always
/// allows (the model API's host:port). A rule without a port allows 443 and 80. `*.domain` matches every subdomain but
/// not the domain itself. Names compare case-insensitively after IDN and trailing-dot normalisation; an IP address is
/// reached only when that address is listed, never through a name rule or a wildcard. Docs: docs/sandbox.md.
/// </summary>
public sealed class EgressRules
{
    private const string Variable = "SANDBOX_EGRESS_ALLOW";
    private static readonly int[] DefaultPorts = [443, 80];

    private readonly Rule[] _rules;
    private readonly string _refusal;

    private EgressRules(Rule[] rules, string refusal)
    {
        _rules = rules;
        _refusal = refusal;
    }

    /// <summary>SANDBOX_NETWORK=none: nothing goes out, not even to the model API.</summary>
    public static EgressRules None { get; } = new([], "the sandbox has no network (SANDBOX_NETWORK=none)");

    /// <summary>The rules in their normalised form (`host:port`, `*.domain:port`, `[v6]:port`), for logs and the docs.</summary>
    public IReadOnlyList<string> Entries => [.. _rules.SelectMany(r => (r.Port is { } p ? [p] : DefaultPorts).Select(p => EgressHost.Format(r.Wildcard ? "*." + r.Host : r.Host, p)))];

    /// <summary>The host:port of the model API the service calls: ANTHROPIC_BASE_URL's, or api.anthropic.com:443 when unset.</summary>
    public static string ModelEndpoint(string? anthropicBaseUrl)
    {
        if (string.IsNullOrWhiteSpace(anthropicBaseUrl))
        {
            return "api.anthropic.com:443";
        }

        if (!Uri.TryCreate(anthropicBaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"ANTHROPIC_BASE_URL '{anthropicBaseUrl}' is not an http(s) URL");
        }

        return EgressHost.Format(uri.IdnHost.Trim('[', ']'), uri.Port);
    }

    /// <summary>Reads the allowlist; a bad entry throws a <see cref="FormatException"/> whose message names it.</summary>
    public static EgressRules Parse(string? allow, IEnumerable<string>? alwaysAllowed = null) =>
        TryParse(allow, alwaysAllowed, out var rules, out var error) ? rules : throw new FormatException(error);

    /// <summary>Reads the allowlist; <paramref name="error"/> names the first bad entry and why, for a start-up refusal.</summary>
    public static bool TryParse(string? allow, IEnumerable<string>? alwaysAllowed, [NotNullWhen(true)] out EgressRules? rules, [NotNullWhen(false)] out string? error)
    {
        rules = null;
        var parsed = new List<Rule>();
        foreach (var endpoint in alwaysAllowed ?? [])
        {
            if (!TryParseEntry(endpoint.Trim(), out var rule, out var why))
            {
                error = $"always-allowed endpoint '{endpoint}': {why}";
                return false;
            }

            parsed.Add(rule);
        }

        // Empty entries (a trailing comma, ", ,") are skipped: they allow nothing, so there is nothing to get wrong.
        foreach (var entry in (allow ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TryParseEntry(entry, out var rule, out var why))
            {
                error = $"{Variable} entry '{entry}': {why}";
                return false;
            }

            parsed.Add(rule);
        }

        rules = new EgressRules([.. parsed.Distinct()], $"not on the egress allowlist ({Variable})");
        error = null;
        return true;
    }

    /// <summary>Whether <paramref name="host"/> (any spelling) may be reached on <paramref name="port"/>.</summary>
    public bool Allows(string host, int port) =>
        EgressHost.TryNormalize(host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host, host.StartsWith('['), out var normal, out _, out _)
        && Check(normal, port).Allowed;

    /// <summary>The decision for a host already normalised by <see cref="EgressHost"/>.</summary>
    internal EgressDecision Check(string host, int port)
    {
        var wildcardMatch = false;
        foreach (var rule in _rules)
        {
            if (rule.Port is { } p ? p != port : !DefaultPorts.Contains(port))
            {
                continue;
            }

            if (!rule.Wildcard && rule.Host == host)
            {
                return new EgressDecision(true, Exact: true, null);
            }

            wildcardMatch |= rule.Wildcard && host.EndsWith("." + rule.Host, StringComparison.Ordinal);
        }

        return wildcardMatch
            ? new EgressDecision(true, Exact: false, null)
            : new EgressDecision(false, Exact: false, $"{EgressHost.Format(host, port)} is {_refusal}");
    }

    private static bool TryParseEntry(string entry, [NotNullWhen(true)] out Rule? rule, [NotNullWhen(false)] out string? error)
    {
        rule = null;
        if (entry.Contains("://", StringComparison.Ordinal) || entry.Contains('/', StringComparison.Ordinal))
        {
            error = "give a host or host:port, not a URL";
            return false;
        }

        var wildcard = entry.StartsWith("*.", StringComparison.Ordinal);
        var text = wildcard ? entry[2..] : entry;
        if (text.Contains('*', StringComparison.Ordinal))
        {
            error = "'*' may only open an entry, as in *.example.com";
            return false;
        }

        if (!EgressHost.TryParseAuthority(text, out var host, out var port, out error))
        {
            return false;
        }

        var isAddress = IPAddress.TryParse(host, out _);
        if (wildcard && (isAddress || !host.Contains('.', StringComparison.Ordinal)))
        {
            error = isAddress
                ? "a wildcard applies to names, not IP addresses"
                : $"*.{host} is too broad: a wildcard needs a domain of at least two labels";
            return false;
        }

        rule = new Rule(host, wildcard, port);
        error = null;
        return true;
    }

    private sealed record Rule(string Host, bool Wildcard, int? Port);
}

/// <summary>An egress check's answer. <see cref="Exact"/>: the host itself is listed (not only through a wildcard).</summary>
internal readonly record struct EgressDecision(bool Allowed, bool Exact, string? Reason);

/// <summary>A connection the proxy refused, for the agent's record: where it tried to go and why it may not.</summary>
public sealed record EgressRefusal(string Host, int Port, string Reason);
