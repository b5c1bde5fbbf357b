using System.Text.RegularExpressions;
using Tomlyn;
using Tomlyn.Model;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Reads a gitleaks configuration (<c>.gitleaks.toml</c>, gitleaks v8's format) into a rule set, so a team keeps the
/// config it has: <c>[[rules]]</c> (id, description, regex, secretGroup, entropy, keywords, path), each rule's
/// <c>[rules.allowlist]</c> or <c>[[rules.allowlists]]</c> (regexes with regexTarget secret, match or line; paths;
/// stopwords; commits) and the global <c>[allowlist]</c> / <c>[[allowlists]]</c>. <c>[extend] useDefault = true</c>
/// builds on our default rules (not gitleaks' own, which differ) and <c>disabledRules</c> drops ours by id (unknown ids
/// are ignored: they name gitleaks' rules). Go's regex syntax is translated where .NET's differs (<c>(?P&lt;name&gt;</c>,
/// POSIX classes); gitleaks' paths are regexes, and stay regexes here.
/// </summary>
public static partial class GitleaksConfig
{
    /// <summary>Where the pipeline and <c>scan --git</c> look for a config in the repository (read from the base).</summary>
    public const string RepositoryPath = ".gitleaks.toml";

    public static SecretRules Load(string path) =>
        Parse(SecretRules.ReadFile(path, "gitleaks config"), Path.GetFileName(path), SecretRules.Default);

    /// <summary>Parses a config; without <c>[extend] useDefault = true</c> its rules are the whole set (gitleaks' meaning).</summary>
    public static SecretRules Parse(string toml, string source, SecretRules defaults)
    {
        TomlTable document;
        try
        {
            document = TomlSerializer.Deserialize<TomlTable>(toml) ?? throw new SecretRulesException($"{source}: empty gitleaks config");
        }
        catch (TomlException ex)
        {
            throw new SecretRulesException($"{source}: not valid TOML: {ex.Message}", ex);
        }

        var extend = document.TryGetValue("extend", out var e) && e is TomlTable extendTable ? extendTable : null;
        if (extend is not null && extend.ContainsKey("path"))
        {
            throw new SecretRulesException($"{source}: [extend] path is not supported; merge that file into this one");
        }

        var useDefault = extend is not null && extend.TryGetValue("useDefault", out var u) && u is true;
        var disabled = Strings(extend, "disabledRules").Where(id => defaults.Rules.Any(r => r.Id == id)).ToList();
        var rules = new List<SecretRule>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var rule in Tables(document, "rules"))
        {
            var compiled = Rule(rule, $"{source}: rules[{index++}]");
            if (!ids.Add(compiled.Id))
            {
                throw new SecretRulesException($"{source}: rule id '{compiled.Id}' appears twice");
            }

            rules.Add(compiled);
        }

        var global = Allowlist([.. Tables(document, "allowlists"), .. Tables(document, "allowlist")], $"{source}: allowlist");
        return SecretRules.Merge(useDefault ? defaults : null, rules, global, disabled);
    }

    private static SecretRule Rule(TomlTable rule, string where)
    {
        var id = rule.TryGetValue("id", out var i) && i is string s && s.Length > 0 ? s : throw new SecretRulesException($"{where}: \"id\" is required");
        where = $"{where} ({id})";
        var description = rule.TryGetValue("description", out var d) && d is string text && text.Length > 0 ? text : id;
        var keywords = Strings(rule, "keywords").Select(k => k.Trim()).Where(k => k.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        var paths = rule.TryGetValue("path", out var p) && p is string path ? [PathGlob.FromRegex(TranslateRegex(path), where)] : Array.Empty<PathGlob>();
        var entropy = rule.TryGetValue("entropy", out var en) ? Convert.ToDouble(en, System.Globalization.CultureInfo.InvariantCulture) : 0;
        Regex? regex = null;
        int? secretGroup = null;
        if (rule.TryGetValue("regex", out var r) && r is string pattern)
        {
            // gitleaks matches with RE2, linear time: keep to the non-backtracking engine where the pattern allows it.
            regex = SecretRules.CreateRegex(TranslateRegex(pattern), where, SecretRules.MatchTimeout);
            var group = rule.TryGetValue("secretGroup", out var g) ? Convert.ToInt32(g, System.Globalization.CultureInfo.InvariantCulture) : 0;
            // gitleaks: the secretGroup-th group, else the only group when there is exactly one, else the whole match.
            var numbered = regex.GetGroupNumbers().Count(n => n > 0);
            secretGroup = group > 0 ? group : numbered == 1 ? 1 : 0;
            if (secretGroup > numbered)
            {
                throw new SecretRulesException($"{where}: secretGroup {group} but the regex has {numbered} groups");
            }
        }
        else if (paths.Length == 0)
        {
            throw new SecretRulesException($"{where}: a rule needs a regex, or a path");
        }

        var allowlists = Tables(rule, "allowlists").Concat(Tables(rule, "allowlist")).ToList();
        return new SecretRule(id, description, regex is null ? null : DeferredRegex.Of(regex), regex is null ? [] : keywords, entropy, multiline: false, paths,
            Allowlist(allowlists, $"{where}: allowlist"), secretGroup: secretGroup ?? 0);
    }

    /// <summary>Several gitleaks allowlists as one (each is "any of these"; condition AND has no equivalent here).</summary>
    private static RuleAllowlist Allowlist(List<TomlTable> allowlists, string where)
    {
        List<Regex> secrets = [], matches = [], lines = [];
        List<string> stopwords = [], commits = [];
        List<PathGlob> paths = [];
        foreach (var allowlist in allowlists)
        {
            if (allowlist.TryGetValue("condition", out var c) && c is string condition && condition.Equals("AND", StringComparison.OrdinalIgnoreCase)
                && new[] { "regexes", "paths", "commits", "stopwords" }.Count(allowlist.ContainsKey) > 1)
            {
                throw new SecretRulesException($"{where}: condition = \"AND\" over several kinds of entries is not supported; split the allowlist or use OR");
            }

            var target = allowlist.TryGetValue("regexTarget", out var t) && t is string value ? value : "secret";
            var list = target switch
            {
                "secret" => secrets,
                "match" => matches,
                "line" => lines,
                _ => throw new SecretRulesException($"{where}: regexTarget is secret, match or line (got '{target}')"),
            };
            list.AddRange(Strings(allowlist, "regexes").Select((regex, n) => SecretRules.CreateRegex(TranslateRegex(regex), $"{where}.regexes[{n}]", SecretRules.MatchTimeout)));
            paths.AddRange(Strings(allowlist, "paths").Select(path => PathGlob.FromRegex(TranslateRegex(path), $"{where}.paths")));
            stopwords.AddRange(Strings(allowlist, "stopwords").Where(s => s.Length > 0));
            commits.AddRange(Strings(allowlist, "commits").Where(s => s.Length > 0));
        }

        return new RuleAllowlist([.. secrets.Select(DeferredRegex.Of)], [.. matches.Select(DeferredRegex.Of)], [.. lines.Select(DeferredRegex.Of)], stopwords, paths, [])
        {
            Commits = new HashSet<string>(commits, StringComparer.OrdinalIgnoreCase),
        };
    }

    /// <summary>Go (RE2) regex syntax to .NET's: named groups <c>(?P&lt;x&gt;</c> and POSIX classes inside brackets.</summary>
    internal static string TranslateRegex(string pattern)
    {
        pattern = pattern.Replace("(?P<", "(?<", StringComparison.Ordinal);
        return PosixClass().Replace(pattern, m => m.Groups[1].Value switch
        {
            "alnum" => "a-zA-Z0-9",
            "alpha" => "a-zA-Z",
            "digit" => "0-9",
            "lower" => "a-z",
            "upper" => "A-Z",
            "xdigit" => "0-9a-fA-F",
            "space" => @"\s",
            "word" => @"\w",
            "punct" => @"!-/:-@\[-`{-~",
            "blank" => @" \t",
            _ => m.Value,
        });
    }

    private static List<TomlTable> Tables(TomlTable? table, string key) =>
        table is not null && table.TryGetValue(key, out var value)
            ? value switch { TomlTableArray array => [.. array], TomlTable one => [one], _ => [] }
            : [];

    private static IEnumerable<string> Strings(TomlTable? table, string key) =>
        table is not null && table.TryGetValue(key, out var value) && value is TomlArray array ? array.OfType<string>() : [];

    [GeneratedRegex(@"\[:(alnum|alpha|digit|lower|upper|xdigit|space|word|punct|blank):\]")]
    private static partial Regex PosixClass();
}
