using System.Text;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>
/// Fake but realistic-looking secrets, made at run time from a deterministic pseudo-random generator, so that this
/// repository holds no string that a secret scanner (ours or anyone's) would flag, and every run sees the same values.
/// The prefixes are split ("gh" + "p_") for the same reason.
/// </summary>
internal static class FakeSecrets
{
    public const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    public const string Lower = "abcdefghijklmnopqrstuvwxyz";
    public const string Digits = "0123456789";
    public const string Alnum = Upper + Lower + Digits;
    public const string Hex = "0123456789abcdef";
    public const string Base64 = Alnum + "+/";
    public const string Base64Url = Alnum + "-_";

    /// <summary>Deterministic characters from an alphabet: the same label always gives the same string.</summary>
    public static string Random(string label, int length, string alphabet = Alnum)
    {
        // xorshift64*, seeded by FNV-1a of the label.
        var state = 14695981039346656037UL;
        foreach (var c in label)
        {
            state = (state ^ c) * 1099511628211UL;
        }

        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            var value = state * 2685821657736338717UL;
            text.Append(alphabet[(int)((value >> 33) % (ulong)alphabet.Length)]);
        }

        return text.ToString();
    }

    public static string AwsAccessKeyId(string label = "aws-id") => "AK" + "IA" + Random(label, 16, Upper + "234567");

    public static string AwsSecretKey(string label = "aws-secret") => Random(label, 40, Base64);

    public static string GitHubClassic(string label = "ghp") => "gh" + "p_" + Random(label, 36);

    public static string GitHubFineGrained(string label = "github-pat") => "github" + "_pat_" + Random(label + "1", 22) + "_" + Random(label + "2", 59);

    public static string GitHubOAuth(string label = "gho") => "gh" + "o_" + Random(label, 36);

    public static string GitHubApp(string label = "ghs", char kind = 's') => "gh" + kind + "_" + Random(label, 36);

    public static string GitHubRefresh(string label = "ghr") => "gh" + "r_" + Random(label, 76);

    public static string GitLabPat(string label = "glpat") => "gl" + "pat-" + Random(label, 20, Base64Url);

    public static string GitLabRunner(string label = "glrt") => "gl" + "rt-" + Random(label, 24, Base64Url);

    public static string GitLabTrigger(string label = "glptt") => "gl" + "ptt-" + Random(label, 40, Hex);

    public static string SlackBot(string label = "xoxb") => "xo" + "xb-" + Random(label + "1", 12, Digits) + "-" + Random(label + "2", 13, Digits) + "-" + Random(label + "3", 24);

    public static string SlackWebhook(string label = "slack-hook") =>
        "https://hooks." + "slack.com/services/T" + Random(label + "1", 10, Upper + Digits) + "/B" + Random(label + "2", 10, Upper + Digits) + "/" + Random(label + "3", 24);

    public static string StripeLive(string label = "stripe") => "sk" + "_live_" + Random(label, 24);

    public static string StripeRestrictedTest(string label = "stripe-rk") => "rk" + "_test_" + Random(label, 30);

    public static string StripeWebhook(string label = "whsec") => "wh" + "sec_" + Random(label, 32);

    public static string GoogleApiKey(string label = "aiza") => "AI" + "za" + Random(label, 35, Base64Url);

    public static string OpenAiProject(string label = "openai") => "sk" + "-proj-" + Random(label + "1", 40, Base64Url) + "T3Blbk" + "FJ" + Random(label + "2", 40, Base64Url);

    public static string OpenAiLegacy(string label = "openai-legacy") => "sk" + "-" + Random(label, 48);

    public static string Anthropic(string label = "anthropic") => "sk" + "-ant-api03-" + Random(label, 93, Base64Url) + "AA";

    public static string AzureStorageKey(string label = "azure") => Random(label, 86, Base64) + "==";

    public static string TwilioApiKey(string label = "twilio") => "S" + "K" + Random(label, 32, Hex);

    public static string SendGrid(string label = "sendgrid") => "S" + "G." + Random(label + "1", 22, Base64Url) + "." + Random(label + "2", 43, Base64Url);

    public static string Npm(string label = "npm") => "np" + "m_" + Random(label, 36);

    public static string PyPi(string label = "pypi") => "py" + "pi-" + "AgEIcHlwaS5vcmc" + Random(label, 70, Base64Url);

    public static string NuGet(string label = "nuget") => "oy" + "2" + Random(label, 43, Lower + Digits);

    public static string Jwt(string label = "jwt")
    {
        static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return B64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + B64($"{{\"sub\":\"{Random(label + "s", 12)}\",\"iat\":1700000000}}") + "." + Random(label, 43, Base64Url);
    }

    /// <summary>A PEM body: lines of 64 base64 characters.</summary>
    public static string PemBody(string label = "pem", int lines = 6) =>
        string.Join('\n', Enumerable.Range(0, lines).Select(i => Random(label + i, 64, Base64)));

    public static string Pem(string kind = "RSA PRIVATE KEY", string label = "pem") =>
        $"-----BEGIN {kind}-----\n{PemBody(label)}\n-----END {kind}-----\n";

    public static string Password(string label = "password") => Random(label, 20, Alnum + "!#%");
}
