using System.Buffers;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// The keyword prefilter for one set of rules: finds the next keyword in a text, and which rules a line's keywords
/// belong to. The keywords are split into small groups, each a <see cref="SearchValues{T}"/> searched on its own:
/// .NET searches a few strings with vectorised code at gigabytes a second but falls back to a much slower automaton for
/// many, and the very common short keywords ("key", "sk") would otherwise stop every search. The next hit of each group
/// is remembered, so each group is searched once per hit of its own, not once per hit of any group.
/// </summary>
internal sealed class KeywordIndex
{
    /// <summary>Keywords per group; measured on generated code, groups of up to a dozen stay on the vectorised path.</summary>
    private const int GroupSize = 12;

    private readonly SearchValues<string>[] _groups;
    private readonly (string Keyword, int[] Rules)[]?[] _byFirstChar = new (string, int[])[]?[128];
    private readonly (string Keyword, int[] Rules)[] _nonAscii;

    /// <param name="keywords">Each keyword with the indexes of the rules it belongs to.</param>
    public KeywordIndex(IReadOnlyDictionary<string, int[]> keywords)
    {
        // Short keywords hit often; alone in their groups they do not slow the search for the rare long ones.
        var ordered = keywords.Keys.OrderBy(k => k.Length).ThenBy(k => k, StringComparer.OrdinalIgnoreCase).ToList();
        var groups = new List<string[]>();
        var shortOnes = ordered.Where(k => k.Length <= 3).ToList();
        var longOnes = ordered.Where(k => k.Length > 3).ToList();
        groups.AddRange(shortOnes.Chunk(4));
        groups.AddRange(longOnes.Chunk(GroupSize));
        _groups = [.. groups.Select(g => SearchValues.Create(g, StringComparison.OrdinalIgnoreCase))];

        var nonAscii = new List<(string, int[])>();
        foreach (var group in keywords.GroupBy(k => char.ToLowerInvariant(k.Key[0])))
        {
            var entries = group.Select(k => (k.Key, k.Value)).ToArray();
            if (group.Key < 128)
            {
                _byFirstChar[group.Key] = entries;
                _byFirstChar[char.ToUpperInvariant(group.Key)] = entries;
            }
            else
            {
                nonAscii.AddRange(entries);
            }
        }

        _nonAscii = [.. nonAscii];
    }

    public int GroupCount => _groups.Length;

    /// <summary>
    /// The index of the first keyword at or after <paramref name="from"/>, or -1. <paramref name="next"/> (one slot
    /// per group, all -1 at the start of a text) remembers each group's next hit between calls.
    /// </summary>
    public int NextHit(ReadOnlySpan<char> text, int from, int[] next)
    {
        var hit = int.MaxValue;
        for (var g = 0; g < _groups.Length; g++)
        {
            if (next[g] < from && next[g] != int.MaxValue)
            {
                var found = text[from..].IndexOfAny(_groups[g]);
                next[g] = found < 0 ? int.MaxValue : from + found;
            }

            hit = Math.Min(hit, next[g]);
        }

        return hit == int.MaxValue ? -1 : hit;
    }

    /// <summary>
    /// Sets <paramref name="marks"/>[rule] to <paramref name="generation"/> for every rule with a keyword in the line.
    /// With <paramref name="next"/> (each group's next hit, as <see cref="NextHit"/> left it for this line) only the
    /// groups with a hit inside the line are searched, from that hit: most lines have one group's keyword, not twenty.
    /// </summary>
    public void MarkRules(ReadOnlySpan<char> line, int[] marks, int generation, int[]? next = null, int lineStart = 0)
    {
        for (var g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            var at = 0;
            if (next is not null)
            {
                if (next[g] >= lineStart + line.Length)
                {
                    continue;
                }

                at = Math.Max(0, next[g] - lineStart);
            }

            while (at < line.Length)
            {
                var found = line[at..].IndexOfAny(group);
                if (found < 0)
                {
                    break;
                }

                var hit = at + found;
                var c = line[hit];
                foreach (var (keyword, owners) in (c < 128 ? _byFirstChar[c] : null) ?? _nonAscii)
                {
                    if (line[hit..].StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
                    {
                        foreach (var owner in owners)
                        {
                            marks[owner] = generation;
                        }
                    }
                }

                at = hit + 1;
            }
        }
    }
}
