using System.IO.Compression;
using System.Text;
using Mosaic.Orchestrator.Secrets;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>Base64, hex and gzip+base64 runs are decoded (bounded) and scanned; the finding says how it was encoded.</summary>
public sealed class EncodedValuesTests
{
    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string GzipBase64(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return Convert.ToBase64String(buffer.ToArray());
    }

    public static TheoryData<string, string, string, string> Encoded() => new()
    {
        // rule, file, content, encoding
        { "github-pat", "config.yaml", "settings: " + Base64("export GITHUB_TOKEN=" + GitHubClassic("b64")) + "\n", "base64" },
        { "stripe-key", "values.json", "{\"blob\": \"" + Base64("Stripe.api_key = '" + StripeLive("b64url") + "'").Replace('+', '-').Replace('/', '_').TrimEnd('=') + "\"}", "base64" },
        { "aws-access-key-id", "dump.txt", "payload=" + Convert.ToHexString(Encoding.UTF8.GetBytes("id: " + AwsAccessKeyId("hex"))) + "\n", "hex" },
        { "private-key", "bundle.txt", "data:" + GzipBase64(Pem("EC PRIVATE KEY", "gz")) + "\n", "base64+gzip" },
        { "slack-token", "nested.env", "NESTED=" + Base64("inner: " + Base64("client = WebClient(token=\"" + SlackBot("nested") + "\")")) + "\n", "base64 > base64" },
        { "generic-secret", "k8s/app.yaml", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  env:\n    - value: " + Base64("CLIENT_SECRET=\"" + Random("k8s-b64", 32) + "\"") + "\n", "base64" },
    };

    [Theory]
    [MemberData(nameof(Encoded))]
    public void Encoded_secrets_are_found_and_say_how(string rule, string file, string text, string encoding)
    {
        var findings = DefaultRulesTests.Scan(file, text);
        var finding = Assert.Single(findings);
        Assert.Equal(rule, finding.RuleId);
        Assert.Equal(encoding, finding.Decoded);
        Assert.Contains($"(in {encoding}-encoded text)", finding.Description, StringComparison.Ordinal);
        var lines = text.Split('\n');
        Assert.True(finding.Line >= 1 && finding.Line <= lines.Length);
        // The column is the encoded run's: the characters there start the run.
        var line = lines[finding.Line - 1];
        Assert.True(finding.Column > 1 && finding.Column <= line.Length, $"column {finding.Column} of {line.Length}");
    }

    public static TheoryData<string, string> Clean() => new()
    {
        { "readme.b64", Base64("This is a plain paragraph of documentation with nothing secret in it at all.") },
        { "random.txt", "blob = \"" + Random("binary", 200, FakeSecrets.Base64) + "\"" },
        { "Names.java", "public void shouldReturnTheCachedValueWhenTheLeaseHasNotExpiredYet_andLogAWarning() {}\nimport org.example.very.long.package.name.with.many.segments.Foo;" },
        { "cert.pem", "-----BEGIN CERTIFICATE-----\n" + PemBody("cert-decode") + "\n-----END CERTIFICATE-----\n" },
        { "hashes.txt", "sha256: " + Random("sha", 64, Hex) + "\ncommit " + Random("commit", 40, Hex) },
        { "placeholder.txt", "v=" + Base64("api_key = \"your-api-key-here-please\"") },
    };

    [Theory]
    [MemberData(nameof(Clean))]
    public void Encoded_text_without_secrets_is_no_finding(string file, string text) =>
        Assert.Empty(DefaultRulesTests.Scan(file, text));

    [Fact]
    public void A_gzip_bomb_inside_base64_is_bounded()
    {
        // 64 MiB of zeros, gzipped (64 KiB) then base64: decoding stops at its cap, fast, without the memory.
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize))
        {
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }
        }

        var text = "bomb: " + Convert.ToBase64String(buffer.ToArray()) + "\n";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Empty(DefaultRulesTests.Scan("bomb.yaml", text));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Decoding_can_be_turned_off()
    {
        var text = "settings: " + Base64("export GITHUB_TOKEN=" + GitHubClassic("off")) + "\n";
        var findings = new List<SecretFinding>();
        new SecretEngine(SecretRules.Default, new ScanPolicy { DecodeDepth = 0 }).Scan(new ScanFragment { File = "a.yaml", Text = text }, findings);
        Assert.Empty(findings);
    }
}
