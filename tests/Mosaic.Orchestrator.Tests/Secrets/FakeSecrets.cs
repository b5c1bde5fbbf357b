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

    /// <summary>30 random characters and their CRC32 in 6 base62 digits: the body of a GitHub or npm token.</summary>
    public static string Checksummed(string label)
    {
        var random = Random(label, 30);
        return random + Mosaic.Orchestrator.Secrets.TokenChecksums.Encode(Mosaic.Orchestrator.Secrets.TokenChecksums.Crc32(random));
    }

    public static string AwsAccessKeyId(string label = "aws-id") => "AK" + "IA" + Random(label, 16, Upper + "234567");

    public static string AwsSecretKey(string label = "aws-secret") => Random(label, 40, Base64);

    public static string GitHubClassic(string label = "ghp") => "gh" + "p_" + Checksummed(label);

    public static string GitHubFineGrained(string label = "github-pat") => "github" + "_pat_" + Random(label + "1", 22) + "_" + Random(label + "2", 59);

    public static string GitHubOAuth(string label = "gho") => "gh" + "o_" + Checksummed(label);

    public static string GitHubApp(string label = "ghs", char kind = 's') => "gh" + kind + "_" + Checksummed(label);

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

    public static string Npm(string label = "npm") => "np" + "m_" + Checksummed(label);

    public static string PyPi(string label = "pypi") => "py" + "pi-" + "AgEIcHlwaS5vcmc" + Random(label, 70, Base64Url);

    public static string NuGet(string label = "nuget") => "oy" + "2" + Random(label, 43, Lower + Digits);

    public static string Jwt(string label = "jwt")
    {
        static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return B64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + B64($"{{\"sub\":\"{Random(label + "s", 12)}\",\"iat\":1700000000}}") + "." + Random(label, 43, Base64Url);
    }

    public const string Letters = Upper + Lower;

    private static string B64Url(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string HuggingFace(string label = "hf") => "h" + "f_" + Random(label, 34, Letters);

    public static string HuggingFaceOrg(string label = "hf-org") => "api" + "_org_" + Random(label, 34, Letters);

    /// <summary>ops_ and the base64url of a JSON object like the one 1Password puts in a service-account token.</summary>
    public static string OnePassword(string label = "ops")
    {
        var json = $"{{\"signInAddress\":\"my.1password.com\",\"userAuth\":{{\"method\":\"SRPg-4096\",\"alg\":\"PBES2g-HS256\",\"iterations\":650000,\"salt\":\"{Random(label + "salt", 22, Base64Url)}\"}},"
            + $"\"email\":\"{Random(label + "mail", 13, Lower + Digits)}@1passwordserviceaccounts.com\",\"srpX\":\"{Random(label + "srp", 64, Hex)}\","
            + $"\"muk\":{{\"alg\":\"A256GCM\",\"ext\":true,\"k\":\"{Random(label + "k", 43, Base64Url)}\",\"key_ops\":[\"encrypt\",\"decrypt\"],\"kty\":\"oct\",\"kid\":\"mp\"}},"
            + $"\"secretKey\":\"A3-{Random(label + "sk", 6, Upper + Digits)}-{Random(label + "sk2", 6, Upper + Digits)}-{Random(label + "sk3", 5, Upper + Digits)}\",\"throttleSecret\":{{\"seed\":\"{Random(label + "seed", 64, Hex)}\",\"uuid\":\"{Random(label + "uuid", 26, Upper + Digits)}\"}},\"deviceUuid\":\"{Random(label + "dev", 26, Lower + Digits)}\"}}";
        return "op" + "s_" + B64Url(json);
    }

    public static string VaultService(string label = "hvs") => "hv" + "s." + Random(label, 91, Base64Url);

    public static string VaultBatch(string label = "hvb") => "hv" + "b." + Random(label, 150, Base64Url);

    public static string VaultLegacy(string label = "vault-legacy") => "s" + "." + Random(label, 24);

    public static string Tailscale(string kind = "auth", string label = "tskey") => "ts" + "key-" + kind + "-" + Random(label + "id", 7) + "CNTRL-" + Random(label, 32);

    public static string GrafanaCloud(string label = "glc") =>
        "gl" + "c_" + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{{\"o\":\"{Random(label + "o", 6, Digits)}\",\"n\":\"stack-{Random(label + "n", 6, Digits)}-hm-read-deploy\",\"k\":\"{Random(label, 24)}\",\"m\":{{\"r\":\"prod-eu-west-2\"}}}}"));

    public static string GrafanaServiceAccount(string label = "glsa") => "gl" + "sa_" + Random(label, 32) + "_" + Random(label + "crc", 8, Hex);

    public static string Linear(string label = "linear") => "lin" + "_api_" + Random(label, 40);

    public static string Groq(string label = "groq") => "gs" + "k_" + Random(label, 52);

    public static string Notion(string label = "notion") => "nt" + "n_" + Random(label + "n", 11, Digits) + Random(label, 35);

    public static string Sourcegraph(string? instance, string label = "sgp") => "sg" + "p_" + (instance is null ? "" : instance + "_") + Random(label, 40, Hex);

    public static string Figma(string label = "figma", int length = 43) => "fi" + "gd_" + Random(label, length, Base64Url);

    public static string Shopify(string kind = "at", string label = "shopify", int length = 32, string alphabet = Hex) => "shp" + kind + "_" + Random(label, length, alphabet);

    public static string Vercel(char kind = 'p', string label = "vercel") => "vc" + kind + "_" + Random(label, 50, Base64Url) + Random(label + "crc", 6);

    public static string CloudflareScannable(string kind = "ut", string label = "cf") => "cf" + kind + "_" + Random(label, 40) + Random(label + "crc", 8, Hex);

    public static string CloudflareLegacy(string label = "cf-legacy") => Random(label, 40, Base64Url);

    public static string Facebook(int length = 180, string label = "fb") => "EA" + "AG" + Random(label, length - 4);

    public static string AzureAdSecret(string label = "entra") => Random(label + "a", 3) + Random(label + "d", 1, Digits) + "Q" + "~" + Random(label, 34, Alnum + "_~.-");

    /// <summary>An installation token in the stateless form (2026): ghs_, an id, _ and a JWT (~520 characters, two dots).</summary>
    public static string GitHubStateless(string label = "ghs-jwt") =>
        "gh" + "s_" + Random(label + "id", 10, Digits) + "_" + B64Url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "."
        + B64Url($"{{\"iss\":\"{Random(label + "iss", 7, Digits)}\",\"iid\":{Random(label + "iid", 8, Digits)},\"exp\":1790000000,\"perms\":{{\"contents\":\"read\",\"metadata\":\"read\",\"pull_requests\":\"write\"}},\"jti\":\"{Random(label + "jti", 32, Hex)}\"}}").Replace('-', 'A')
        + "." + Random(label, 342, Alnum + "_");

    /// <summary>A PEM body: lines of 64 base64 characters.</summary>
    public static string PemBody(string label = "pem", int lines = 6) =>
        string.Join('\n', Enumerable.Range(0, lines).Select(i => Random(label + i, 64, Base64)));

    public static string Pem(string kind = "RSA PRIVATE KEY", string label = "pem") =>
        $"-----BEGIN {kind}-----\n{PemBody(label)}\n-----END {kind}-----\n";

    public static string Password(string label = "password") => Random(label, 20, Alnum + "!#%");
}
