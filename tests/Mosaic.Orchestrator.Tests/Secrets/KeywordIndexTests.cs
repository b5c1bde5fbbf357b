using System.Text;
using Mosaic.Orchestrator.Secrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>
/// The one-pass keyword matcher finds exactly what <see cref="string.IndexOf(string, StringComparison)"/> with
/// <see cref="StringComparison.OrdinalIgnoreCase"/> finds: at the ends of a text and of its lines, for overlapping
/// keywords and keywords that are prefixes of others, in any case, next to and inside non-ASCII text.
/// </summary>
public sealed class KeywordIndexTests
{
    private static KeywordIndex Index(params string[] keywords) =>
        new(keywords.Select((k, i) => (k, i)).ToDictionary(x => x.k, x => new[] { x.i }, StringComparer.OrdinalIgnoreCase));

    /// <summary>The keywords (by index) the matcher finds in the text, from <paramref name="from"/> on.</summary>
    private static int[] Marked(KeywordIndex index, string text, int count, int from = 0)
    {
        var marks = new int[count];
        var marked = new List<int>();
        index.MarkRules(text, marks, generation: 1, marked, from);
        Assert.Equal(marked.Count, marked.Distinct().Count());
        Assert.All(marked, k => Assert.Equal(1, marks[k]));
        return [.. marked.Order()];
    }

    private static int[] Expected(string[] keywords, string text, int from = 0) =>
        [.. keywords.Select((k, i) => (k, i)).Where(x => text.IndexOf(x.k, from, StringComparison.OrdinalIgnoreCase) >= 0).Select(x => x.i)];

    private static int ExpectedNext(string[] keywords, string text, int from) =>
        keywords.Select(k => text.IndexOf(k, from, StringComparison.OrdinalIgnoreCase)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();

    [Theory]
    [InlineData("secret", 0)] // the first characters of the text
    [InlineData("x = secret", 4)] // the last characters, no newline after
    [InlineData("a\nsecret\nb", 2)] // a whole line
    [InlineData("a\r\nb = SECRET\r\n", 7)] // upper case, CRLF
    [InlineData("sec\nret secre", -1)] // split over two lines, cut off at the end
    public void Keywords_are_found_at_the_ends_of_texts_and_lines(string text, int at)
    {
        var index = Index("secret");
        Assert.Equal(at, index.NextHit(text, 0));
        Assert.Equal(at < 0 ? [] : [0], Marked(index, text, 1));
    }

    [Fact]
    public void Short_keywords_are_found_in_the_last_positions()
    {
        string[] keywords = ["sk", "q", "-u"];
        var index = Index(keywords);
        foreach (var text in new[] { "sk", "task", "s", "Q", "curl -u", "x-U", "ask\n" })
        {
            Assert.Equal(ExpectedNext(keywords, text, 0), index.NextHit(text, 0));
            Assert.Equal(Expected(keywords, text), Marked(index, text, keywords.Length));
        }
    }

    [Fact]
    public void Overlapping_keywords_and_prefixes_of_others_are_each_found()
    {
        string[] keywords = ["sk", "sk-", "sk-ant-", "secret", "secretaccesskey", "access", "key"];
        var index = Index(keywords);
        Assert.Equal([0, 1, 2], Marked(index, "SK-ANT-api03", keywords.Length));
        Assert.Equal([0, 3, 4, 5, 6], Marked(index, "aws.SecretAccessKey = x", keywords.Length)); // acce(sk)ey
        Assert.Equal([0, 1], Marked(index, "disk-usage", keywords.Length));
        // From a position on: what starts before it is not marked.
        Assert.Equal([6], Marked(index, "secret_key", keywords.Length, from: 1));
        Assert.Equal(7, index.NextHit("secret_key", 1));
    }

    [Fact]
    public void Case_is_ignored_the_ordinal_way_and_non_ascii_text_matches_only_itself()
    {
        // The Kelvin sign and the long s fold to 'k' and 's' in Unicode, not in OrdinalIgnoreCase: neither is a hit.
        string[] keywords = ["key", "secret", "ключ", "пароль", "ñu_", "日本"];
        var index = Index(keywords);
        foreach (var text in new[]
        {
            "KEY", "Key", "\u212Aey", "ſecret", "SECRET", "my ключ", "МОЙ КЛЮЧ", "Пароль:", "ÑU_", "ñ", "日本語", "é\u0301key",
            "emoji 😀 secret", "\ud83dsecret", "key\ud83d", "\0key\0",
        })
        {
            Assert.Equal(ExpectedNext(keywords, text, 0), index.NextHit(text, 0));
            Assert.Equal(Expected(keywords, text), Marked(index, text, keywords.Length));
        }
    }

    [Fact]
    public void A_rule_owning_several_keywords_is_marked_once_and_keywords_of_several_rules_mark_each()
    {
        var index = new KeywordIndex(new Dictionary<string, int[]>(StringComparer.OrdinalIgnoreCase)
        {
            ["token"] = [0, 2],
            ["secret"] = [0],
            ["://"] = [1],
        });
        var marks = new int[3];
        var marked = new List<int>();
        index.MarkRules("token = secret; token2 = https://x", marks, 7, marked);
        Assert.Equal([0, 1, 2], marked.Order());
        Assert.Equal([7, 7, 7], marks);
        marked.Clear();
        index.MarkRules("nothing here", marks, 8, marked);
        Assert.Empty(marked);
    }

    /// <summary>
    /// Random keywords (short and long, prefixes of each other, non-ASCII) in random text made of their pieces: the
    /// matcher agrees with <see cref="string.IndexOf(string, int, StringComparison)"/> from every position.
    /// </summary>
    [Theory]
    [InlineData(1, 20)]
    [InlineData(2, 200)]
    [InlineData(3, 2000)]
    public void Agrees_with_IndexOf_on_random_keywords_and_text(int seed, int keywordCount)
    {
        var random = new Random(seed);
        const string alphabet = "abcdeKEYSTOkeystoé_-.:/ \nλΛ日\u212Aſ";
        string Piece(int length) => new([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
        var keywords = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (keywords.Count < keywordCount)
        {
            var keyword = Piece(random.Next(1, 9)).Trim();
            if (keyword.Length > 0 && !keyword.Contains('\n'))
            {
                keywords.Add(random.Next(3) == 0 ? keyword.ToUpperInvariant() : keyword);
            }
        }

        var list = keywords.ToArray();
        var index = Index(list);
        for (var round = 0; round < 30; round++)
        {
            var text = new StringBuilder();
            while (text.Length < 300)
            {
                text.Append(random.Next(4) == 0 ? list[random.Next(list.Length)] : Piece(random.Next(1, 12)));
            }

            var s = text.ToString();
            for (var from = 0; from <= s.Length; from += 1 + random.Next(7))
            {
                Assert.Equal(ExpectedNext(list, s, from), index.NextHit(s, from));
                Assert.Equal(Expected(list, s, from), Marked(index, s, list.Length, from));
            }
        }
    }

    [Fact]
    public void Keywords_at_the_ends_of_a_fragment_and_of_its_lines_run_their_rules()
    {
        var rules = SecretRules.Parse("""
            { "rules": [ { "id": "corp-token", "description": "Corp token", "regex": "(?<secret>ctk[a-z0-9]{12})", "keywords": ["ctk"] } ] }
            """, "test.json", baseRules: null);
        var value = "a1b2c3d4e5f6";
        foreach (var (text, line) in new[] { ($"ctk{value}", 1), ($"x\nctk{value}", 2), ($"x\r\nctk{value}\r\ny", 2), ($"x\n\nctk{value}\n", 3) })
        {
            var finding = Assert.Single(DefaultRulesTests.Scan("a.txt", text, rules));
            Assert.Equal(line, finding.Line);
        }

        Assert.Empty(DefaultRulesTests.Scan("a.txt", $"ct\nk{value}", rules));
    }
}
