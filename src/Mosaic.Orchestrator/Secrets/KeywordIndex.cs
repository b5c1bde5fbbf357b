using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// The keyword prefilter for one set of rules: finds the next keyword in a text, and which rules a line's keywords
/// belong to, in one pass over the text whatever the number of keywords. Each position is first tested against a
/// bitmap of the keywords' first three characters (case-folded, hashed into 16 KB, so it stays in the first-level
/// cache); only where the bitmap says yes (about 2% of the positions of ordinary code) are the keywords that begin
/// with the same two characters compared. Matching is ordinal and case-insensitive, as <see cref="StringComparison.OrdinalIgnoreCase"/>.
/// </summary>
/// <remarks>
/// Why not <see cref="System.Buffers.SearchValues{T}"/>: .NET searches a dozen strings with vectorised code, but for
/// two hundred keywords it needs a pass per dozen (each pass about as slow as the whole of this one) or an automaton
/// several times slower; and the cost grew with every rule added. Here more keywords set more bits: the bitmap's
/// false hits grow slowly, the pass stays one.
/// </remarks>
internal sealed class KeywordIndex
{
    /// <summary>Bits of the hashed three-character filter (2^17 bits, 16 KB).</summary>
    private const int FilterBits = 17;

    /// <summary>What every character outside ASCII folds to: such keywords and text are compared exactly after the filter.</summary>
    private const byte NonAscii = 0x7F;

    private static readonly byte[] Fold = BuildFold();

    private readonly ulong[] _filter = new ulong[(1 << FilterBits) / 64];

    /// <summary>For each pair of folded first characters, 1 + the index of its bucket in <see cref="_buckets"/>, or 0.</summary>
    private readonly ushort[] _pairs = new ushort[128 * 128];

    private readonly Keyword[][] _buckets;

    /// <param name="keywords">Each keyword with the indexes of the rules it belongs to.</param>
    public KeywordIndex(IReadOnlyDictionary<string, int[]> keywords)
    {
        var buckets = new Dictionary<int, List<Keyword>>();
        foreach (var (text, rules) in keywords)
        {
            if (text.Length == 0)
            {
                continue;
            }

            var keyword = new Keyword(text, rules);
            var first = FoldChar(text[0]);
            // A keyword shorter than three characters stands for every three-character start that begins with it;
            // past the end of the text the characters fold to 0, so a keyword in the last position is found too.
            foreach (var second in text.Length > 1 ? [FoldChar(text[1])] : Enumerable.Range(0, 128).Select(c => (byte)c))
            {
                var pair = (first << 7) | second;
                if (!buckets.TryGetValue(pair, out var bucket))
                {
                    buckets[pair] = bucket = [];
                }

                bucket.Add(keyword);
                foreach (var third in text.Length > 2 ? [FoldChar(text[2])] : Enumerable.Range(0, 128).Select(c => (byte)c))
                {
                    var hash = Hash(first, second, third);
                    _filter[hash >> 6] |= 1UL << hash;
                }
            }
        }

        _buckets = new Keyword[buckets.Count][];
        var slot = 0;
        foreach (var (pair, bucket) in buckets)
        {
            _buckets[slot] = [.. bucket];
            _pairs[pair] = (ushort)++slot;
        }
    }

    /// <summary>The index of the first keyword at or after <paramref name="from"/>, or -1.</summary>
    public int NextHit(ReadOnlySpan<char> text, int from)
    {
        for (var at = Candidate(text, from); at >= 0; at = Candidate(text, at + 1))
        {
            foreach (var keyword in BucketAt(text, at))
            {
                if (IsAt(text, at, keyword))
                {
                    return at;
                }
            }
        }

        return -1;
    }

    /// <summary>
    /// For every rule with a keyword in <paramref name="line"/> at or after <paramref name="from"/> (the first hit, as
    /// <see cref="NextHit"/> found it): sets <paramref name="marks"/>[rule] to <paramref name="generation"/> and, the
    /// first time in this generation, adds the rule to <paramref name="marked"/>.
    /// </summary>
    public void MarkRules(ReadOnlySpan<char> line, int[] marks, int generation, List<int> marked, int from = 0)
    {
        for (var at = Candidate(line, from); at >= 0; at = Candidate(line, at + 1))
        {
            foreach (var keyword in BucketAt(line, at))
            {
                if (!IsAt(line, at, keyword))
                {
                    continue;
                }

                foreach (var rule in keyword.Rules)
                {
                    if (marks[rule] != generation)
                    {
                        marks[rule] = generation;
                        marked.Add(rule);
                    }
                }
            }
        }
    }

    /// <summary>The next position at or after <paramref name="from"/> whose first three characters pass the filter, or -1.</summary>
    private int Candidate(ReadOnlySpan<char> text, int from)
    {
        if (from >= text.Length)
        {
            return -1;
        }

        ref var start = ref MemoryMarshal.GetReference(text);
        ref var filter = ref MemoryMarshal.GetArrayDataReference(_filter);
        var at = from;
        // Positions with three characters in the text; the last two are padded with 0 below.
        int f0 = FoldChar(Unsafe.Add(ref start, at));
        int f1 = at + 1 < text.Length ? FoldChar(Unsafe.Add(ref start, at + 1)) : 0;
        // Four positions a round with one branch: a hit is rare (about one position in fifty), so the branch is
        // predicted and the four lookups overlap.
        for (var end = text.Length - 5; at < end; at += 4)
        {
            int f2 = FoldChar(Unsafe.Add(ref start, at + 2));
            int f3 = FoldChar(Unsafe.Add(ref start, at + 3));
            int f4 = FoldChar(Unsafe.Add(ref start, at + 4));
            int f5 = FoldChar(Unsafe.Add(ref start, at + 5));
            var h0 = Hash(f0, f1, f2);
            var h1 = Hash(f1, f2, f3);
            var h2 = Hash(f2, f3, f4);
            var h3 = Hash(f3, f4, f5);
            var b0 = Unsafe.Add(ref filter, h0 >> 6) >> h0;
            var b1 = Unsafe.Add(ref filter, h1 >> 6) >> h1;
            var b2 = Unsafe.Add(ref filter, h2 >> 6) >> h2;
            var b3 = Unsafe.Add(ref filter, h3 >> 6) >> h3;
            if (((b0 | b1 | b2 | b3) & 1) != 0)
            {
                return (b0 & 1) != 0 ? at : (b1 & 1) != 0 ? at + 1 : (b2 & 1) != 0 ? at + 2 : at + 3;
            }

            f0 = f4;
            f1 = f5;
        }

        for (var end = text.Length - 2; at < end; at++)
        {
            int f2 = FoldChar(Unsafe.Add(ref start, at + 2));
            var hash = Hash(f0, f1, f2);
            if ((Unsafe.Add(ref filter, hash >> 6) & (1UL << hash)) != 0)
            {
                return at;
            }

            f0 = f1;
            f1 = f2;
        }

        for (; at < text.Length; at++)
        {
            int f2 = at + 2 < text.Length ? FoldChar(text[at + 2]) : 0;
            var hash = Hash(f0, f1, f2);
            if ((_filter[hash >> 6] & (1UL << hash)) != 0)
            {
                return at;
            }

            f0 = f1;
            f1 = f2;
        }

        return -1;
    }

    private ReadOnlySpan<Keyword> BucketAt(ReadOnlySpan<char> text, int at)
    {
        var second = at + 1 < text.Length ? FoldChar(text[at + 1]) : 0;
        var slot = _pairs[(FoldChar(text[at]) << 7) | second];
        return slot == 0 ? [] : _buckets[slot - 1];
    }

    private static bool IsAt(ReadOnlySpan<char> text, int at, Keyword keyword)
    {
        var length = keyword.Text.Length;
        if (length > text.Length - at)
        {
            return false;
        }

        if (keyword.Folded is not { } folded)
        {
            return text.Slice(at, length).Equals(keyword.Text, StringComparison.OrdinalIgnoreCase);
        }

        // An ASCII keyword: a character outside ASCII never equals an ASCII one ignoring case, so folding both is exact.
        for (var i = 0; i < length; i++)
        {
            if (FoldChar(text[at + i]) != folded[i])
            {
                return false;
            }
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(int first, int second, int third) => (first << 10) ^ (second << 5) ^ third;

    /// <summary>ASCII letters to lower case, other ASCII as it is, everything else to <see cref="NonAscii"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte FoldChar(char c) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Fold), c);

    /// <summary>One entry per UTF-16 code unit (64 KB, of which ordinary text touches the first 128 bytes): no branch.</summary>
    private static byte[] BuildFold()
    {
        var fold = new byte[char.MaxValue + 1];
        Array.Fill(fold, NonAscii);
        for (var c = 0; c < 128; c++)
        {
            fold[c] = (byte)(c is >= 'A' and <= 'Z' ? c + 32 : c);
        }

        return fold;
    }

    private sealed record Keyword(string Text, int[] Rules)
    {
        /// <summary>The keyword folded as <see cref="FoldChar"/> folds, when it is all ASCII (below DEL); else null.</summary>
        public byte[]? Folded { get; } = Text.All(c => c < NonAscii) ? [.. Text.Select(FoldChar)] : null;
    }
}
