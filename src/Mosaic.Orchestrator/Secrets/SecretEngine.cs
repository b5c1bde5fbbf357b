using System.Text.RegularExpressions;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>Text to scan: a whole file, or the lines one commit added to one file.</summary>
internal sealed class ScanFragment
{
    public required string File { get; init; }

    public string? Commit { get; init; }

    /// <summary>The lines, separated by '\n'.</summary>
    public required string Text { get; init; }

    /// <summary>The file line number of each line of <see cref="Text"/>; null when line i of the text is line i + 1.</summary>
    public IReadOnlyList<int>? LineNumbers { get; init; }

    /// <summary>How many decodings deep this text is: 0 for text as written, 1 for a base64 run in it decoded...</summary>
    public int DecodeDepth { get; init; }
}

/// <summary>How findings are suppressed beyond the rules' own allowlists.</summary>
internal sealed record ScanPolicy
{
    /// <summary>
    /// Whether a <c>mosaic:allow</c> comment on a line suppresses its findings. True for people at their own keyboard
    /// (the CLI); false for agents' commits, where the agent wrote that comment itself.
    /// </summary>
    public bool HonorInlineAllow { get; init; }

    /// <summary>The repository's allowlist file, read from a revision the scanned changes cannot have edited.</summary>
    public SecretsAllowlist Allowlist { get; init; } = SecretsAllowlist.Empty;

    /// <summary>
    /// When set, each value a rule matched but something allowed (a placeholder, a documented example, an inline
    /// comment, the allowlist file) is added here with the reason: what <c>scan --verbose</c> lists.
    /// </summary>
    public List<AllowedValue>? Allowed { get; init; }

    /// <summary>
    /// How many layers of encoding (base64, hex, gzip inside them) are decoded and scanned: 2 by default (a base64
    /// value inside a base64 config), 0 turns decoding off.
    /// </summary>
    public int DecodeDepth { get; init; } = 2;
}

/// <summary>A value a rule matched and an allowlist let through; like a finding, it never holds the value.</summary>
internal sealed record AllowedValue(string RuleId, string File, int Line, int Column, string? Commit, string Reason);

/// <summary>
/// The matching core. A one-pass multi-keyword search (<see cref="KeywordIndex"/>) finds the lines worth a closer
/// look; on such a line only the rules whose keywords occur in it run their regex. Most lines
/// of ordinary code contain no keyword and cost only the search.
/// </summary>
internal sealed class SecretEngine(SecretRules rules, ScanPolicy policy)
{
    public const string InlineAllowMarker = "mosaic:allow";

    /// <summary>A multi-line rule sees at most this much text from the start of its keyword's line.</summary>
    public const int MultilineWindow = 64 * 1024;

    public const string TimeoutRuleId = "scan-timeout";

    public SecretRules Rules => rules;

    public ScanPolicy Policy => policy;

    /// <summary>Whether the global or repository allowlist excludes this path from every rule.</summary>
    public bool IsPathAllowed(string file) =>
        PathGlob.MatchesAny(rules.Global.Paths, file) || PathGlob.MatchesAny(policy.Allowlist.Paths, file);

    /// <summary>Scans the text of a fragment; returns how many findings it added.</summary>
    public int Scan(ScanFragment fragment, List<SecretFinding> findings)
    {
        if (IsPathAllowed(fragment.File))
        {
            return 0;
        }

        var contentRules = rules.ContentRules;
        var applies = new bool[contentRules.Count];
        var any = false;
        for (var i = 0; i < applies.Length; i++)
        {
            any |= applies[i] = contentRules[i].AppliesTo(fragment.File);
        }

        if (!any)
        {
            return 0;
        }

        var before = findings.Count;
        var state = new LineState(fragment, applies, contentRules.Count, rules.KeywordsFor(applies));
        if (rules.HasEveryLineRules && contentRules.Where((r, i) => applies[i] && r.RunsOnEveryLine).Any())
        {
            // A rule without keywords (gitleaks allows them) sees every line: no prefilter, so slower.
            for (var lineStart = 0; lineStart < fragment.Text.Length;)
            {
                var lineEnd = fragment.Text.IndexOf('\n', lineStart) is var next and >= 0 ? next : fragment.Text.Length;
                state.MoveTo(lineStart);
                ScanLine(state, lineStart, lineEnd, findings);
                lineStart = lineEnd + 1;
            }

            if (fragment.DecodeDepth < policy.DecodeDepth)
            {
                ScanEncoded(state, findings);
            }

            return findings.Count - before;
        }

        var text = fragment.Text.AsSpan();
        var position = 0;
        while (position < text.Length)
        {
            var hit = state.Keywords.NextHit(text, position);
            if (hit < 0)
            {
                break;
            }

            var lineStart = text[position..hit].LastIndexOf('\n') is var nl and >= 0 ? position + nl + 1 : position;
            var lineEnd = text[hit..].IndexOf('\n') is var next and >= 0 ? hit + next : text.Length;
            state.MoveTo(lineStart);
            ScanLine(state, lineStart, lineEnd, findings, hit);
            position = lineEnd + 1;
        }

        if (fragment.DecodeDepth < policy.DecodeDepth)
        {
            ScanEncoded(state, findings);
        }

        return findings.Count - before;
    }

    /// <summary>Reports a file that is a secret by its name (file rules), unless content findings already did.</summary>
    /// <param name="binary">Whether the file's content is binary (a key store is; a text file with its name is not).</param>
    public void ScanFileName(string file, string? commit, bool binary, Func<string> blobId, List<SecretFinding> findings)
    {
        if (IsPathAllowed(file))
        {
            return;
        }

        foreach (var rule in rules.FileRules)
        {
            if (!rule.AppliesTo(file) || (rule.BinaryOnly && !binary))
            {
                continue;
            }

            var finding = new SecretFinding
            {
                RuleId = rule.Id,
                Description = rule.Description,
                File = file,
                Line = 1,
                Column = 0,
                Commit = commit,
                Preview = "***",
                Fingerprint = SecretFingerprint.Compute(rule.Id, file, "blob:" + blobId()),
            };
            if (policy.Allowlist.IsInGitleaksIgnore(commit, file, rule.Id, 1))
            {
                policy.Allowed?.Add(new AllowedValue(rule.Id, file, 1, 0, commit, $"it is in {SecretsAllowlist.GitleaksIgnorePath}"));
            }
            else if (!policy.Allowlist.Fingerprints.Contains(finding.Fingerprint))
            {
                findings.Add(finding);
            }
            else
            {
                policy.Allowed?.Add(new AllowedValue(rule.Id, file, 1, 0, commit, $"its fingerprint is in {SecretsAllowlist.RepositoryPath}"));
            }

            return;
        }
    }

    /// <summary>At most this many decoded characters are scanned per fragment, so a file of base64 costs a bounded time.</summary>
    public const int MaxDecodedCharsPerFragment = 4 * 1024 * 1024;

    /// <summary>
    /// Decodes the base64 and hex runs of the text that no rule took already and scans what they decode to; a finding
    /// in decoded text is reported at the run's line and column and says how it was encoded.
    /// </summary>
    private void ScanEncoded(LineState state, List<SecretFinding> findings)
    {
        var fragment = state.Fragment;
        var text = fragment.Text;
        var runs = new List<(int Start, int End)>();
        EncodedValues.FindRuns(text, (start, end) => runs.Add((start, end)));
        var budget = MaxDecodedCharsPerFragment;
        var lineIndex = 0;
        var countedTo = 0;
        foreach (var (start, end) in runs)
        {
            if (state.Overlaps(start, end) || EncodedValues.Decode(text.AsSpan(start, end - start)) is not var (decoded, kind))
            {
                continue;
            }

            budget -= decoded.Length;
            if (budget < 0)
            {
                break;
            }

            lineIndex += text.AsSpan(countedTo, start - countedTo).Count('\n');
            countedTo = start;
            var lineStart = text.AsSpan(0, start).LastIndexOf('\n') + 1;
            if (policy.HonorInlineAllow && SecretLine(text, lineStart).Contains(InlineAllowMarker, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var line = state.LineNumber(lineIndex);
            var inner = new List<SecretFinding>();
            Scan(new ScanFragment { File = fragment.File, Commit = fragment.Commit, Text = decoded, LineNumbers = [line], DecodeDepth = fragment.DecodeDepth + 1 }, inner);
            foreach (var finding in inner)
            {
                var encoding = finding.Decoded is { } deeper ? $"{kind} > {deeper}" : kind;
                findings.Add(finding with
                {
                    Column = start - lineStart + 1,
                    Decoded = encoding,
                    Description = finding.Decoded is null ? $"{finding.Description} (in {kind}-encoded text)" : finding.Description.Replace("(in ", $"(in {kind} > ", StringComparison.Ordinal),
                });
            }
        }
    }

    /// <param name="firstHit">Where the keyword search found the line's first keyword (-1: search the whole line).</param>
    private void ScanLine(LineState state, int lineStart, int lineEnd, List<SecretFinding> findings, int firstHit = -1)
    {
        var text = state.Fragment.Text;
        var contentEnd = lineEnd > lineStart && text[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
        var line = text.AsSpan(lineStart, contentEnd - lineStart);
        state.Generation++;
        var marked = state.Marked;
        marked.Clear();
        state.Keywords.MarkRules(line, state.Marks, state.Generation, marked, firstHit < 0 ? 0 : firstHit - lineStart);
        var contentRules = rules.ContentRules;
        if (rules.HasEveryLineRules)
        {
            for (var r = 0; r < contentRules.Count; r++)
            {
                if (contentRules[r].RunsOnEveryLine && state.Marks[r] != state.Generation)
                {
                    state.Marks[r] = state.Generation;
                    marked.Add(r);
                }
            }
        }

        // In rule order: an earlier (more specific) rule takes its characters before a later one sees them.
        marked.Sort();
        foreach (var r in marked)
        {
            if (!state.Applies[r])
            {
                continue;
            }

            var rule = contentRules[r];
            var windowEnd = rule.Multiline ? Math.Min(text.Length, lineStart + MultilineWindow) : contentEnd;
            try
            {
                for (var match = rule.Regex!.Match(text, lineStart, windowEnd - lineStart); match.Success && match.Index < contentEnd; match = match.NextMatch())
                {
                    Consider(state, rule, match, lineStart, contentEnd, findings);
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // Fail closed: a line we could not check is reported, so crafted input cannot hide a secret this way.
                findings.Add(new SecretFinding
                {
                    RuleId = TimeoutRuleId,
                    Description = $"Rule {rule.Id} timed out on this line; it could not be checked",
                    File = state.Fragment.File,
                    Line = state.LineNumber(state.LineIndex),
                    Column = 1,
                    Commit = state.Fragment.Commit,
                    Preview = "***",
                    Fingerprint = SecretFingerprint.Compute(TimeoutRuleId, state.Fragment.File, $"{rule.Id}\n{state.LineNumber(state.LineIndex)}"),
                });
            }
        }
    }

    private void Consider(LineState state, SecretRule rule, Match match, int lineStart, int lineEnd, List<SecretFinding> findings)
    {
        var group = match.Groups[rule.SecretGroup];
        if (!group.Success || group.Length == 0)
        {
            return;
        }

        var start = group.Index;
        var end = start + group.Length;
        if (state.Overlaps(start, end))
        {
            return; // an earlier (more specific) rule already judged these characters
        }

        var secret = group.Value;
        if (rule.MinEntropy > 0 && Entropy.Shannon(secret) < rule.MinEntropy)
        {
            return;
        }

        var text = state.Fragment.Text;
        var line = text.AsSpan(lineStart, lineEnd - lineStart);
        state.Take(start, end);
        // Allowlists see the match with the rest of the name it starts inside: a rule that matches from its keyword
        // ("key = ...") is judged on "public_key = ...". Rules start at keywords so the regex can skip to them fast.
        var context = match.Index;
        while (context > lineStart && (char.IsAsciiLetterOrDigit(text[context - 1]) || text[context - 1] is '_' or '.' or '-'))
        {
            context--;
        }

        var matched = text.AsSpan(context, match.Index + match.Length - context);
        // A multi-line match reports the line where the secret starts.
        var secretLineStart = text.AsSpan(lineStart, start - lineStart).LastIndexOf('\n') is var nl and >= 0 ? lineStart + nl + 1 : lineStart;
        var lineIndex = state.LineIndex + text.AsSpan(lineStart, secretLineStart - lineStart).Count('\n');
        var reason = WhyAllowed(rule, secret, matched, line, text, secretLineStart, state.Fragment.File, state.Fragment.Commit, state.LineNumber(lineIndex), out var fingerprint);
        if (reason is not null)
        {
            policy.Allowed?.Add(new AllowedValue(rule.Id, state.Fragment.File, state.LineNumber(lineIndex), start - secretLineStart + 1, state.Fragment.Commit, reason));
            return;
        }

        findings.Add(new SecretFinding
        {
            RuleId = rule.Id,
            Description = rule.Description,
            File = state.Fragment.File,
            Line = state.LineNumber(lineIndex),
            Column = start - secretLineStart + 1,
            Commit = state.Fragment.Commit,
            Preview = SecretFingerprint.Preview(secret),
            Fingerprint = fingerprint!,
        });
    }

    /// <summary>
    /// Why a matched value is not a finding, or null when it is one (then <paramref name="fingerprint"/> is set). The
    /// fingerprint costs 10,000 PBKDF2 rounds, so the allowlist file's check comes last.
    /// </summary>
    private string? WhyAllowed(SecretRule rule, string secret, ReadOnlySpan<char> matched, ReadOnlySpan<char> line, string text, int secretLineStart, string file, string? commit, int lineNumber, out string? fingerprint)
    {
        fingerprint = null;
        if (!TokenChecksums.Passes(rule.Checksum, secret))
        {
            return "its checksum does not match: a made-up or mistyped token, not an issued one";
        }

        if (rule.Allowlist.AllowedBecause(secret, matched, line, commit) is { } ruleReason)
        {
            return $"the rule's allowlist: {ruleReason}";
        }

        if (rules.Global.AllowedBecause(secret, matched, line, commit) is { } globalReason)
        {
            return $"placeholder or documented example value: {globalReason}";
        }

        if (policy.HonorInlineAllow && (line.Contains(InlineAllowMarker, StringComparison.OrdinalIgnoreCase) || SecretLine(text, secretLineStart).Contains(InlineAllowMarker, StringComparison.OrdinalIgnoreCase)))
        {
            return $"{InlineAllowMarker} on the line";
        }

        if (policy.Allowlist.IsInGitleaksIgnore(commit, file, rule.Id, lineNumber))
        {
            return $"it is in {SecretsAllowlist.GitleaksIgnorePath}";
        }

        fingerprint = SecretFingerprint.Compute(rule.Id, file, secret);
        return policy.Allowlist.Fingerprints.Contains(fingerprint) ? $"its fingerprint is in {SecretsAllowlist.RepositoryPath}" : null;
    }

    private static ReadOnlySpan<char> SecretLine(string text, int start)
    {
        var end = text.AsSpan(start).IndexOf('\n');
        return text.AsSpan(start, end < 0 ? text.Length - start : end);
    }

    /// <summary>Where the scan of one fragment is: line counting, rule marks, and the characters rules already took.</summary>
    private sealed class LineState(ScanFragment fragment, bool[] applies, int ruleCount, KeywordIndex keywords)
    {
        private readonly List<(int Start, int End)> _taken = [];
        private int _countedTo;

        public ScanFragment Fragment { get; } = fragment;

        public bool[] Applies { get; } = applies;

        public KeywordIndex Keywords { get; } = keywords;

        public int[] Marks { get; } = new int[ruleCount];

        /// <summary>The rules marked on the current line (those with a keyword in it).</summary>
        public List<int> Marked { get; } = [];

        public int Generation { get; set; }

        /// <summary>0-based index of the current line within the fragment.</summary>
        public int LineIndex { get; private set; }

        public void MoveTo(int lineStart)
        {
            LineIndex += Fragment.Text.AsSpan(_countedTo, lineStart - _countedTo).Count('\n');
            _countedTo = lineStart;
        }

        public int LineNumber(int index) => Fragment.LineNumbers is { } numbers ? numbers[Math.Min(index, numbers.Count - 1)] : index + 1;

        public bool Overlaps(int start, int end)
        {
            foreach (var (s, e) in _taken)
            {
                if (start < e && s < end)
                {
                    return true;
                }
            }

            return false;
        }

        public void Take(int start, int end) => _taken.Add((start, end));
    }
}

/// <summary>Shannon entropy in bits per character.</summary>
internal static class Entropy
{
    public static double Shannon(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return 0;
        }

        Span<int> ascii = stackalloc int[128];
        Dictionary<char, int>? other = null;
        foreach (var c in text)
        {
            if (c < 128)
            {
                ascii[c]++;
            }
            else
            {
                other ??= [];
                other[c] = other.GetValueOrDefault(c) + 1;
            }
        }

        double length = text.Length;
        var entropy = 0.0;
        foreach (var count in ascii)
        {
            if (count > 0)
            {
                var p = count / length;
                entropy -= p * Math.Log2(p);
            }
        }

        foreach (var count in other?.Values ?? Enumerable.Empty<int>())
        {
            var p = count / length;
            entropy -= p * Math.Log2(p);
        }

        return entropy;
    }
}
