using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>A rules file is malformed: the message names the file, the rule and the field.</summary>
public sealed class SecretRulesException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A validated, compiled rule set: the embedded defaults (<see cref="Default"/>), optionally extended or replaced by a
/// user file (<see cref="Load"/>). Immutable and safe to share between threads.
/// </summary>
public sealed partial class SecretRules
{
    /// <summary>Longest time one regex may spend on one line (or multi-line window) before the line counts as a finding.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    private const string DefaultResource = "Mosaic.Orchestrator.Secrets.default-rules.json";
    private static readonly Lazy<SecretRules> Defaults = new(() => Parse(ReadDefaultDocument(), "default-rules.json", baseRules: null));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, KeywordIndex> _keywordIndexes = new(StringComparer.Ordinal);

    private SecretRules(IReadOnlyList<SecretRule> rules, RuleAllowlist global)
    {
        Rules = rules;
        Global = global;
        ContentRules = [.. rules.Where(r => !r.IsFileRule)];
        HasEveryLineRules = ContentRules.Any(r => r.RunsOnEveryLine);
        FileRules = [.. rules.Where(r => r.IsFileRule)];
    }

    /// <summary>The embedded default rules.</summary>
    public static SecretRules Default => Defaults.Value;

    public IReadOnlyList<SecretRule> Rules { get; }

    internal IReadOnlyList<SecretRule> ContentRules { get; }

    internal IReadOnlyList<SecretRule> FileRules { get; }

    /// <summary>Whether a rule has no keywords (only gitleaks configs make such rules): then every line is looked at.</summary>
    internal bool HasEveryLineRules { get; }

    internal RuleAllowlist Global { get; }

    /// <summary>
    /// The keyword index of the content rules that apply to a file (<paramref name="applies"/>, one flag per content
    /// rule): a .env-only rule's keywords do not make every line of C# worth a closer look. Built once per combination.
    /// </summary>
    internal KeywordIndex KeywordsFor(bool[] applies)
    {
        var signature = string.Create(applies.Length, applies, (chars, flags) =>
        {
            for (var i = 0; i < flags.Length; i++)
            {
                chars[i] = flags[i] ? '1' : '0';
            }
        });
        return _keywordIndexes.GetOrAdd(signature, _ =>
        {
            var keywords = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < ContentRules.Count; i++)
            {
                foreach (var keyword in applies[i] ? ContentRules[i].Keywords : [])
                {
                    if (!keywords.TryGetValue(keyword, out var owners))
                    {
                        keywords[keyword] = owners = [];
                    }

                    owners.Add(i);
                }
            }

            return new KeywordIndex(keywords.ToDictionary(k => k.Key, k => k.Value.ToArray(), StringComparer.OrdinalIgnoreCase));
        });
    }

    /// <summary>
    /// Loads a user rules file: with <c>"extend": true</c> (the default) its rules replace defaults of the same id or are
    /// added before them, <c>"disable"</c> removes default rules by id and its allowlist adds to the default one; with
    /// <c>"extend": false</c> the file is the whole rule set.
    /// </summary>
    public static SecretRules Load(string path) => Parse(ReadFile(path, "rules file"), Path.GetFileName(path), Default);

    /// <summary>A rules file's text; a file that cannot be read is a <see cref="SecretRulesException"/> naming it as <paramref name="kind"/>.</summary>
    internal static string ReadFile(string path, string kind)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SecretRulesException($"cannot read {kind} {path}: {ex.Message}", ex);
        }
    }

    /// <summary>Parses a rules document; <paramref name="baseRules"/> is what an extending document extends.</summary>
    public static SecretRules Parse(string json, string source, SecretRules? baseRules) => Parse(json, source, baseRules, MatchTimeout);

    internal static SecretRules Parse(string json, string source, SecretRules? baseRules, TimeSpan matchTimeout)
    {
        RulesDocument document;
        try
        {
            document = JsonSerializer.Deserialize(json, SecretsJsonContext.Default.RulesDocument)
                ?? throw new SecretRulesException($"{source}: empty rules document");
        }
        catch (JsonException ex)
        {
            throw new SecretRulesException($"{source}: not a valid rules document: {ex.Message}", ex);
        }

        var global = CompileAllowlist(document.Allowlist, $"{source}: allowlist", matchTimeout);
        var rules = new List<SecretRule>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (rule, index) in (document.Rules ?? []).Select((r, i) => (r, i)))
        {
            var compiled = Compile(rule, $"{source}: rules[{index}]", matchTimeout);
            if (!ids.Add(compiled.Id))
            {
                throw new SecretRulesException($"{source}: rule id '{compiled.Id}' appears twice");
            }

            rules.Add(compiled);
        }

        if ((baseRules is null || document.Extend == false) && document.Disable is { Count: > 0 })
        {
            throw new SecretRulesException($"{source}: \"disable\" needs \"extend\": true (there is nothing to disable)");
        }

        foreach (var id in (document.Disable ?? []).Where(id => baseRules!.Rules.All(r => r.Id != id)))
        {
            throw new SecretRulesException($"{source}: cannot disable unknown rule '{id}'");
        }

        return Merge(document.Extend == false ? null : baseRules, rules, global, document.Disable ?? []);
    }

    /// <summary>
    /// A rule set from <paramref name="rules"/> and <paramref name="global"/>, on top of <paramref name="baseRules"/> when
    /// given: new rules first, replacements in the place of the base rule of the same id, disabled base rules dropped,
    /// allowlists combined.
    /// </summary>
    internal static SecretRules Merge(SecretRules? baseRules, List<SecretRule> rules, RuleAllowlist global, IEnumerable<string> disable)
    {
        if (baseRules is null)
        {
            return new SecretRules(rules, global);
        }

        var disabled = new HashSet<string>(disable, StringComparer.Ordinal);

        // New rules first (a user's specific rule wins over a default generic one), replacements in the default's place.
        var replacements = rules.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var merged = rules.Where(r => baseRules.Rules.All(b => b.Id != r.Id)).ToList();
        foreach (var rule in baseRules.Rules)
        {
            if (disabled.Contains(rule.Id))
            {
                continue;
            }

            merged.Add(replacements.GetValueOrDefault(rule.Id, rule));
        }

        var combined = new RuleAllowlist(
            [.. baseRules.Global.SecretRegexes, .. global.SecretRegexes],
            [.. baseRules.Global.MatchRegexes, .. global.MatchRegexes],
            [.. baseRules.Global.LineRegexes, .. global.LineRegexes],
            [.. baseRules.Global.Stopwords, .. global.Stopwords],
            [.. baseRules.Global.Paths, .. global.Paths],
            [.. baseRules.Global.Sha256, .. global.Sha256])
        {
            Commits = new HashSet<string>([.. baseRules.Global.Commits, .. global.Commits], StringComparer.OrdinalIgnoreCase),
        };
        return new SecretRules(merged, combined);
    }

    /// <summary>A regex checked now and built on first use (<see cref="DeferredRegex"/>).</summary>
    internal static DeferredRegex Deferred(string pattern, string where, TimeSpan matchTimeout, bool backtracking = false)
    {
        Check(pattern, where);
        return new DeferredRegex(pattern, () => CreateRegex(pattern, where, matchTimeout, backtracking));
    }

    /// <summary>The number of the group named <c>secret</c>, or 0 (the whole match) without one.</summary>
    internal static int SecretGroupOf(Regex regex) => regex.GroupNumberFromName("secret") is int g and >= 0 ? g : 0;

    /// <summary>
    /// The pattern's syntax, checked with the interpreter (a few KB; building the engine that will run it is what
    /// costs, and waits for the first use). What only the non-backtracking engine refuses falls back when built.
    /// </summary>
    private static Regex Check(string pattern, string where)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException ex)
        {
            throw new SecretRulesException($"{where}: invalid regex: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Builds a rule's regex: the non-backtracking engine when the pattern allows it (linear time whatever the input),
    /// else, or when asked (<paramref name="backtracking"/>: several times faster on short lines, for rules that run
    /// often), the compiled backtracking engine; both with the match timeout.
    /// </summary>
    internal static Regex CreateRegex(string pattern, string where, TimeSpan matchTimeout, bool backtracking = false)
    {
        try
        {
            if (backtracking)
            {
                return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, matchTimeout);
            }

            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, matchTimeout);
        }
        catch (NotSupportedException)
        {
            // Lookarounds, backreferences or atomic groups: fine for a user's rule, bounded by the timeout.
        }
        catch (ArgumentException ex)
        {
            throw new SecretRulesException($"{where}: invalid regex: {ex.Message}", ex);
        }

        return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, matchTimeout);
    }

    private static SecretRule Compile(RuleDocument rule, string where, TimeSpan matchTimeout)
    {
        if (string.IsNullOrWhiteSpace(rule.Id) || !RuleId().IsMatch(rule.Id))
        {
            throw new SecretRulesException($"{where}: \"id\" must be 1-64 of [a-z0-9-] (got '{rule.Id}')");
        }

        where = $"{where} ({rule.Id})";
        if (string.IsNullOrWhiteSpace(rule.Description))
        {
            throw new SecretRulesException($"{where}: \"description\" is required");
        }

        var keywords = (rule.Keywords ?? []).Select(k => k.Trim()).Where(k => k.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        var paths = (rule.Paths ?? []).Select(p => new PathGlob(p)).ToArray();
        DeferredRegex? regex = null;
        var secretGroup = 0;
        if (rule.Regex is null)
        {
            if (paths.Length == 0)
            {
                throw new SecretRulesException($"{where}: a rule needs a \"regex\", or \"paths\" for a file rule");
            }

            if (keywords.Length > 0 || rule.Entropy is not null || rule.Multiline || rule.Engine is not null || rule.Checksum is not null)
            {
                throw new SecretRulesException($"{where}: a file rule (no \"regex\") takes no keywords, entropy, multiline or engine");
            }
        }
        else
        {
            // Without keywords a regex would run on every line: the prefilter is what keeps the scanner fast.
            if (keywords.Length == 0)
            {
                throw new SecretRulesException($"{where}: \"keywords\" must name at least one keyword");
            }

            var backtracking = rule.Engine switch
            {
                null or "nonbacktracking" => false,
                "backtracking" => true,
                _ => throw new SecretRulesException($"{where}: \"engine\" is nonbacktracking (the default) or backtracking"),
            };
            secretGroup = SecretGroupOf(Check(rule.Regex, where));
            regex = Deferred(rule.Regex, where, matchTimeout, backtracking);
        }

        if (rule.Entropy is < 0 or > 8)
        {
            throw new SecretRulesException($"{where}: \"entropy\" must be between 0 and 8 bits per character");
        }

        var checksum = rule.Checksum switch
        {
            null => TokenChecksum.None,
            "github-crc32" => TokenChecksum.GitHubCrc32,
            _ => throw new SecretRulesException($"{where}: \"checksum\" is github-crc32 (or absent)"),
        };
        return new SecretRule(rule.Id, rule.Description.Trim(), regex, keywords, rule.Entropy ?? 0, rule.Multiline, paths, CompileAllowlist(rule.Allowlist, $"{where}: allowlist", matchTimeout), checksum, rule.BinaryOnly, secretGroup);
    }

    private static RuleAllowlist CompileAllowlist(AllowlistDocument? allowlist, string where, TimeSpan matchTimeout)
    {
        if (allowlist is null)
        {
            return RuleAllowlist.Empty;
        }

        DeferredRegex[] Regexes(List<string>? patterns, string field) =>
            [.. (patterns ?? []).Select((p, i) => Deferred(p, $"{where}.{field}[{i}]", matchTimeout))];

        foreach (var hash in allowlist.Sha256 ?? [])
        {
            if (!Sha256Hex().IsMatch(hash))
            {
                throw new SecretRulesException($"{where}.sha256: '{hash}' is not 64 hex digits");
            }
        }

        return new RuleAllowlist(
            Regexes(allowlist.SecretRegexes, "secretRegexes"),
            Regexes(allowlist.MatchRegexes, "matchRegexes"),
            Regexes(allowlist.LineRegexes, "lineRegexes"),
            [.. (allowlist.Stopwords ?? []).Where(s => s.Length > 0)],
            [.. (allowlist.Paths ?? []).Select(p => new PathGlob(p))],
            allowlist.Sha256 ?? []);
    }

    private static string ReadDefaultDocument()
    {
        using var stream = typeof(SecretRules).Assembly.GetManifestResourceStream(DefaultResource)
            ?? throw new InvalidOperationException($"embedded resource {DefaultResource} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex RuleId();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Hex();
}

internal sealed class RulesDocument
{
    public bool? Extend { get; set; }

    public List<string>? Disable { get; set; }

    public AllowlistDocument? Allowlist { get; set; }

    public List<RuleDocument>? Rules { get; set; }
}

internal sealed class RuleDocument
{
    public string? Id { get; set; }

    public string? Description { get; set; }

    public string? Regex { get; set; }

    public List<string>? Keywords { get; set; }

    public double? Entropy { get; set; }

    public bool Multiline { get; set; }

    public string? Engine { get; set; }

    public string? Checksum { get; set; }

    public bool BinaryOnly { get; set; }

    public List<string>? Paths { get; set; }

    public AllowlistDocument? Allowlist { get; set; }
}

internal sealed class AllowlistDocument
{
    public List<string>? SecretRegexes { get; set; }

    public List<string>? MatchRegexes { get; set; }

    public List<string>? LineRegexes { get; set; }

    public List<string>? Stopwords { get; set; }

    public List<string>? Paths { get; set; }

    public List<string>? Sha256 { get; set; }
}

/// <summary>Rules documents (comments and trailing commas allowed, unknown fields refused) and scan reports.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(RulesDocument))]
[JsonSerializable(typeof(SecretScanReport))]
internal sealed partial class SecretsJsonContext : JsonSerializerContext;
