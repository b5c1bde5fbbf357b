using Mosaic.Orchestrator.Secrets;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>
/// The vendor formats with a documented prefix: each token in three syntaxes (a .env line, a JSON value, a call in
/// code) is one finding of its rule, and the same format cut short (or its documented look-alike) is none.
/// </summary>
public sealed class VendorRulesTests
{
    private static string Uuid(string label) =>
        $"{Random(label + "a", 8, Hex)}-{Random(label + "b", 4, Hex)}-{Random(label + "c", 4, Hex)}-{Random(label + "d", 4, Hex)}-{Random(label + "e", 12, Hex)}";

    /// <summary>Rule, a token in its format, and a near miss (null: the token without its last character).</summary>
    internal static readonly (string Rule, string Token, string? NearMiss)[] Tokens =
    [
        ("google-oauth-client-secret", "GOC" + "SPX-" + Random("gocspx", 28, Base64Url), null),
        ("google-oauth-token", "ya" + "29." + Random("ya29", 120, Base64Url), "ya" + "29." + Random("ya29s", 30, Base64Url)),
        ("google-oauth-token", "1/" + "/0" + Random("g-refresh", 100, Base64Url), "1/" + "/0" + Random("g-refresh-s", 20, Base64Url)),
        ("firebase-cloud-messaging-key", "AAAA" + Random("fcm1", 7, Base64Url) + ":APA9" + "1b" + Random("fcm", 134, Base64Url), "AAAA" + Random("fcm1", 7, Base64Url) + ":APA9" + "1b" + Random("fcm", 100, Base64Url)),
        ("aws-bedrock-api-key", "AB" + "SK" + Random("bedrock", 128, Base64), "AB" + "SK" + Random("bedrock-s", 60, Base64)),
        ("alibaba-access-key-id", "LT" + "AI" + Random("ali", 20), "LT" + "AI" + Random("ali-s", 8)),
        ("azure-devops-pat", Random("azdo", 76) + "AZ" + "DO" + Random("azdo2", 4), null),
        ("digitalocean-token", "do" + "p_v1_" + Random("do", 64, Hex), null),
        ("digitalocean-token", "do" + "o_v1_" + Random("doo", 64, Hex), null),
        ("doppler-token", "dp." + "pt." + Random("doppler", 43), "dp." + "pt." + Random("doppler-s", 30)),
        ("databricks-token", "da" + "pi" + Random("databricks", 32, Hex), null),
        ("planetscale-token", "pscale" + "_tkn_" + Random("pscale", 43), "pscale" + "_tkn_" + Random("pscale-s", 20)),
        ("supabase-token", "sb" + "p_" + Random("supabase", 40, Hex), null),
        ("supabase-token", "sb_" + "secret_" + Random("sb-secret", 36, Base64Url), "sb_" + "secret_" + Random("sb-secret-s", 20, Base64Url)),
        ("pulumi-token", "pu" + "l-" + Random("pulumi", 40, Hex), null),
        ("terraform-cloud-token", Random("tfc1", 14) + ".atlas" + "v1." + Random("tfc", 67), Random("tfc1", 14) + ".atlas" + "v1." + Random("tfc-s", 40)),
        ("heroku-api-key", "HR" + "KU-AA" + Random("heroku", 58, Base64Url), "HR" + "KU-AA" + Random("heroku-s", 40, Base64Url)),
        ("fly-token", "fo" + "1_" + Random("fly", 43, Base64Url), null),
        ("netlify-token", "nf" + "p_" + Random("netlify", 36), null),
        ("render-api-key", "rn" + "d_" + Random("render", 32), null),
        ("dynatrace-token", "dt0c" + "01." + Random("dt1", 24, Upper + Digits) + "." + Random("dt2", 64, Upper + Digits), null),
        ("new-relic-key", "NR" + "AK-" + Random("newrelic", 27, Upper + Digits), null),
        ("sentry-token", "sntry" + "u_" + Random("sentry", 64, Hex), null),
        ("sentry-token", "sntry" + "s_eyJ" + Random("sentry-org", 120, Base64), "sntry" + "s_eyJ" + Random("sentry-org-s", 40, Base64)),
        ("atlassian-api-token", "ATATT" + "3xFfGF0" + Random("atlassian", 180, Base64Url) + "=" + Random("atl-crc", 8, "0123456789ABCDEF"), "ATATT" + "3xFfGF0" + Random("atlassian-s", 90, Base64Url)),
        ("hubspot-private-app-token", "pat-" + "na1-" + Uuid("hubspot"), null),
        ("postman-api-key", "PM" + "AK-" + Random("postman1", 24, Hex) + "-" + Random("postman2", 34, Hex), null),
        ("docker-hub-token", "dckr" + "_pat_" + Random("dockerhub", 27, Base64Url), null),
        ("jfrog-token", "AK" + "Cp" + Random("jfrog", 69), null),
        ("buildkite-token", "bk" + "ua_" + Random("buildkite", 40, Hex), null),
        ("circleci-token", "CCI" + "PAT_" + Random("circle1", 22) + "_" + Random("circle2", 40, Hex), null),
        ("octopus-deploy-api-key", "AP" + "I-" + Random("octopus", 26, Upper + Digits), null),
        ("rubygems-api-key", "rubygems" + "_" + Random("rubygems", 48, Hex), null),
        ("clojars-token", "CLOJARS" + "_" + Random("clojars", 60, Lower + Digits), null),
        ("crates-io-token", "ci" + "o" + Random("crates", 32), null),
        ("age-secret-key", "AGE-SECRET" + "-KEY-1" + Random("age", 58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"), null),
        ("square-token", "EA" + "AA" + Random("square", 60, Base64Url), null),
        ("square-token", "sq0" + "csp-" + Random("square-csp", 43, Base64Url), null),
        ("shippo-token", "shippo" + "_live_" + Random("shippo", 40, Hex), null),
        ("easypost-api-key", "EZ" + "AK" + Random("easypost", 54, Hex), null),
        ("duffel-token", "duffel" + "_test_" + Random("duffel", 43, Base64Url), null),
        ("flutterwave-key", "FLW" + "SECK-" + Random("flutterwave", 32, Hex) + "-X", null),
        ("mailgun-api-key", "ke" + "y-" + Random("mailgun", 32, Hex), null),
        ("mailchimp-api-key", Random("mailchimp", 32, Hex) + "-us" + "14", Random("mailchimp-s", 31, Hex) + "-us" + "14"),
        ("telegram-bot-token", "7" + Random("telegram-id", 9, Digits) + ":AA" + Random("telegram", 33, Base64Url), null),
        ("discord-webhook", "https://discord.com/api/web" + "hooks/" + Random("discord-id", 18, Digits) + "/" + Random("discord", 68, Base64Url), "https://discord.com/api/web" + "hooks/" + Random("discord-id", 18, Digits) + "/" + Random("discord-s", 40, Base64Url)),
        ("teams-webhook", "https://contoso.webhook" + ".office.com/webhookb2/" + Uuid("teams1") + "@" + Uuid("teams2") + "/IncomingWebhook/" + Random("teams", 32, Hex) + "/" + Uuid("teams3"), "https://contoso.webhook" + ".office.com/webhookb2/" + Uuid("teams1") + "@" + Uuid("teams2") + "/IncomingWebhook/"),
        ("twitter-bearer-token", new string('A', 22) + Random("twitter", 90, Alnum + "%"), new string('A', 22) + Random("twitter-s", 40)),
        ("mapbox-secret-token", "sk" + ".eyJ" + Random("mapbox", 60, Base64Url) + "." + Random("mapbox2", 22, Base64Url), "pk" + ".eyJ" + Random("mapbox", 60, Base64Url) + "." + Random("mapbox2", 22, Base64Url)),
        ("contentful-token", "CF" + "PAT-" + Random("contentful", 43, Base64Url), null),
        ("dropbox-token", "sl" + "." + Random("dropbox", 140, Base64Url), "sl" + "." + Random("dropbox-s", 90, Base64Url)),
        ("adafruit-io-key", "ai" + "o_" + Random("adafruit", 28), null),
        ("prefect-api-key", "pn" + "u_" + Random("prefect", 36), null),
        ("readme-api-key", "rd" + "me_" + Random("readme", 70, Lower + Digits), null),
        ("frameio-token", "fio" + "-u-" + Random("frameio", 64, Base64Url), null),
        ("infracost-api-key", "ic" + "o-" + Random("infracost", 32), null),
        ("scalingo-token", "tk" + "-us-" + Random("scalingo", 48, Base64Url), null),
        ("typeform-token", "tf" + "p_" + Random("typeform", 59, Base64Url), null),
        ("harness-token", "pa" + "t." + Random("harness1", 22, Base64Url) + "." + Random("harness2", 24, Hex) + "." + Random("harness3", 20), null),
        ("langsmith-api-key", "lsv2" + "_pt_" + Random("langsmith", 32, Hex) + "_" + Random("langsmith2", 10, Hex), null),
        ("pinecone-api-key", "pc" + "sk_" + Random("pinecone1", 6) + "_" + Random("pinecone", 64), "pc" + "sk_" + Random("pinecone1", 6) + "_" + Random("pinecone-s", 40)),
        ("replicate-api-token", "r8" + "_" + Random("replicate", 37), null),
        ("perplexity-api-key", "pp" + "lx-" + Random("perplexity", 48), null),
        ("xai-api-key", "xa" + "i-" + Random("xai", 80), null),
        ("openrouter-api-key", "sk-or" + "-v1-" + Random("openrouter", 64, Hex), null),
        ("salesforce-access-token", "00D" + Random("sf-org", 15) + "!" + Random("salesforce", 96, Alnum + "._"), "00D" + Random("sf-org", 15) + "!" + Random("salesforce-s", 50)),
        ("intra42-client-secret", "s-s4" + "t2ud-" + Random("intra42", 64, Hex), null),
        ("onepassword-secret-key", "A3-" + Random("op-account", 6, Upper + Digits) + "-" + Random("op-sk1", 6, Upper + Digits) + "-" + Random("op-sk2", 5, Upper + Digits) + "-" + Random("op-sk3", 5, Upper + Digits) + "-" + Random("op-sk4", 5, Upper + Digits) + "-" + Random("op-sk5", 5, Upper + Digits), null),
        ("onepassword-secret-key", "A3-" + Random("op-account2", 6, Upper + Digits) + "-" + Random("op-sk11", 11, Upper + Digits) + "-" + Random("op-sk12", 5, Upper + Digits) + "-" + Random("op-sk13", 5, Upper + Digits) + "-" + Random("op-sk14", 5, Upper + Digits), null),
        ("cloudflare-origin-ca-key", "v1.0-" + Random("cf-ca1", 24, Hex) + "-" + Random("cf-ca2", 146, Hex), null),
        ("sonarqube-token", "sq" + "u_" + Random("sonar-u", 40, Hex), null),
        ("sonarqube-token", "sq" + "a_" + Random("sonar-a", 40, Hex), null),
        // Slack's user tokens exported as xoxe- and the legacy workspace tokens (xoxa-2-); a redacted tail is no token.
        ("slack-token", "xo" + "xe-" + Random("xoxe1", 13, Digits) + "-" + Random("xoxe2", 13, Digits) + "-" + Random("xoxe3", 13, Digits) + "-" + Random("xoxe4", 64, Hex), "xo" + "xp-" + Random("xoxe1", 12, Digits) + "-" + Random("xoxe2", 12, Digits) + "-" + Random("xoxe3", 12, Digits) + "-" + new string('#', 20)),
        ("slack-token", "xo" + "xa-2-" + Random("xoxa1", 9, Digits) + "-" + Random("xoxa2", 11, Digits) + "-" + Random("xoxa3", 13, Digits) + "-" + Random("xoxa4", 18, Lower + Digits), "xo" + "xa-2-" + Random("xoxa1", 4, Digits)),
    ];

    public static TheoryData<string, string, string> Positives()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (rule, token, _) in Tokens)
        {
            data.Add(rule, ".env", "SERVICE_CREDENTIAL=" + token + "\n");
            data.Add(rule, "config.json", "{\n  \"service\": {\n    \"credential\": \"" + token + "\"\n  }\n}\n");
            data.Add(rule, "client.py", "client = connect(\"" + token + "\", timeout=30)\n");
        }

        // Rules that need a vendor's name beside the value.
        data.Add("datadog-key", ".env", "DD_API_KEY=" + Random("dd", 32, Hex));
        data.Add("datadog-key", "main.tf", "provider \"datadog\" {\n  datadog.app_key = \"" + Random("dd-app", 40, Hex) + "\"\n}\n");
        data.Add("datadog-key", "values.json", "{\"datadogApiKey\": \"" + Random("dd-json", 32, Hex) + "\"}");
        data.Add("okta-api-token", ".env", "OKTA_API_TOKEN=00" + Random("okta", 40, Base64Url));
        data.Add("okta-api-token", "okta.yaml", "okta_client_token: \"00" + Random("okta-yaml", 40, Base64Url) + "\"\n");
        data.Add("okta-api-token", "Okta.cs", "var oktaToken = \"00" + Random("okta-cs", 40, Base64Url) + "\";");
        data.Add("sumologic-access-id", ".env", "SUMOLOGIC_ACCESSID=su" + Random("sumo", 12) + "\nSUMOLOGIC_ENDPOINT=https://api.sumologic.com");
        data.Add("sumologic-access-id", "app.properties", "sumologic.accessId = \"su" + Random("sumo-props", 12) + "\"");
        data.Add("sumologic-access-id", "values.yaml", "sumo_access_id: 'su" + Random("sumo-yaml", 12) + "'");
        data.Add("sonarqube-token", "sonar-project.properties", "sonar.projectKey=shop\nsonar.login=" + Random("sonar-legacy", 40, Hex) + "\n");
        data.Add("sonarqube-token", "Makefile", "SONAR_TOKEN ::= " + Random("sonar-make", 40, Hex) + "\n");
        data.Add("sonarqube-token", "ci.yml", "env:\n  SONAR_TOKEN: \"" + Random("sonar-ci", 40, Hex) + "\"\n");
        data.Add("snyk-api-token", ".env", "SNYK_TOKEN=" + Uuid("snyk"));
        data.Add("snyk-api-token", "Makefile", "SNYK_API_KEY ?= " + Uuid("snyk-make"));
        data.Add("snyk-api-token", "scan.go", "snykOAuthToken := \"" + Uuid("snyk-go") + "\"");
        data.Add("heroku-api-key-legacy", ".env", "HEROKU_API_KEY=" + Uuid("heroku-legacy"));
        data.Add("heroku-api-key-legacy", "deploy.js", "const herokuToken = '" + Uuid("heroku-js") + "';");
        data.Add("heroku-api-key-legacy", "Deploy.cs", "private const string HerokuKey = \"" + Uuid("heroku-cs") + "\";");
        data.Add("hubspot-api-key", ".env", "HUBSPOT_API_KEY=" + Uuid("hubspot-legacy"));
        data.Add("hubspot-api-key", "sync.py", "requests.get(\"https://api.hubapi.com/contacts/v1/lists/all?hapikey=" + Uuid("hapikey") + "\")");
        data.Add("hubspot-api-key", "hubspot.json", "{\"hubspotKey\": \"" + Uuid("hubspot-json") + "\"}");
        data.Add("sourcegraph-token", ".env", "SOURCEGRAPH_TOKEN=" + Random("sg-legacy", 40, Hex));
        data.Add("sourcegraph-token", "settings.json", "{\"sourcegraph.accessToken\": \"" + Random("sg-json", 40, Hex) + "\"}");
        data.Add("cloudflare-api-token", "config.yaml", "cloudflare: \"" + Random("cf-bare", 40, Base64Url) + "\"");
        data.Add("cloudflare-api-token", "cf.env", "cloudflare_global_api_key = \"" + Random("cf-global", 37, Hex) + "\"");
        data.Add("facebook-access-token", ".env", "FACEBOOK_APP_TOKEN=" + Random("fb-app-id", 15, Digits) + "|" + Random("fb-app-secret", 27, Base64Url));
        data.Add("facebook-access-token", "graph.js", "const facebook = fetch(`https://graph.facebook.com/me?access_token=" + Random("fb-app-id2", 16, Digits) + "%7C" + Random("fb-app-secret2", 32, Base64Url) + "`);");
        data.Add("api-key-uuid", ".env", "POSTMARK_API_TOKEN=" + Uuid("postmark"));
        data.Add("api-key-uuid", "octopus.http", "GET https://octopus.internal.corp/api/projects\nX-Octopus-ApiKey: " + Uuid("octopus-uuid") + "\n");
        data.Add("api-key-uuid", "Main.java", "System.setProperty(\"service.api.key\", \"" + Uuid("java-prop") + "\");");
        data.Add("api-key-uuid", "config.go", "token := utils.GetEnvOrDefault(\"api_token\", \"" + Uuid("go-default") + "\")");
        return data;
    }

    [Theory]
    [MemberData(nameof(Positives))]
    public void Each_vendor_rule_finds_its_token(string rule, string file, string text)
    {
        var findings = DefaultRulesTests.Scan(file, text);
        Assert.True(findings.Count == 1 && findings[0].RuleId == rule, $"expected one {rule} finding, got: {string.Join(", ", findings.Select(f => f.RuleId))}");
    }

    public static TheoryData<string, string> NearMisses()
    {
        var data = new TheoryData<string, string>();
        foreach (var (rule, token, nearMiss) in Tokens)
        {
            data.Add(rule, "see " + (nearMiss ?? token[..^1]) + " in the docs\n");
            // A placeholder in the token's place.
            data.Add(rule, "credential: " + token[..Math.Min(8, token.Length / 2)] + new string('x', 40) + "\n");
        }

        data.Add("datadog-key", "DD_SITE=datadoghq.eu\ndatadog_api_key: ${DD_API_KEY}\nDD_ENV=production");
        data.Add("okta-api-token", "OKTA_DOMAIN=dev-123456.okta.com\nokta_client_id: 0oa" + Random("okta-id", 17));
        data.Add("mailgun-api-key", "monkey-" + Random("monkey", 32, Hex) + " and donkey-business");
        data.Add("octopus-deploy-api-key", "API-VERSION-HEADER and API-KEY-NAME-IS-HERE-FOR-YOU");
        data.Add("crates-io-token", "cioperationsdonotneedatokenatallok is a word");
        data.Add("sumologic-access-id", "- (NSNumber *)sumOfProperty:(NSString *)property;\nsumObj = su" + Random("sumo-nm", 12) + "\nsumologic_access_id = \"\"\nSUMOLOGIC_ACCESSID: ${SUMOLOGIC_ACCESSID}");
        data.Add("sonarqube-token", "sonar.scm.revision=" + Random("sonar-rev", 40, Hex) + "\nsonar.login=${SONAR_TOKEN}\nsq" + "p_" + Random("sonar-short", 30, Hex));
        data.Add("snyk-api-token", "SNYK_ORG_ID=" + Uuid("snyk-org") + "\nsnyk_project = \"" + Uuid("snyk-project") + "\"");
        data.Add("heroku-api-key-legacy", "HEROKU_APP_ID=" + Uuid("heroku-app") + "\nheroku_key = \"12345678-ABCD-ABCD-ABCD-1234567890AB\"");
        data.Add("hubspot-api-key", "HUBSPOT_PORTAL_ID=" + Random("portal", 8, Digits) + "\nhubspot_form_id: " + Uuid("hubspot-form"));
        data.Add("sourcegraph-token", "SOURCEGRAPH_URL=https://sourcegraph.com\nsourcegraph_commit: " + Random("sg-commit", 40, Hex[..10] + "ABCDEF") + "\nsgp_" + Random("sg-bad", 39, Hex));
        data.Add("facebook-access-token", "facebook app id: " + Random("fb-id-only", 15, Digits) + "\n" + Random("fb-no-name", 15, Digits) + "|" + Random("fb-no-name2", 27, Base64Url));
        data.Add("api-key-uuid", "client_id: " + Uuid("client-id") + "\napi_key_id = \"" + Uuid("key-id") + "\"\ncurl -H \"Idempotency-Key: " + Uuid("idem") + "\" https://api.internal.corp");
        data.Add("onepassword-secret-key", "A3-XXXXXX-XXXXXX-XXXXX-XXXXX-XXXXX-XXXXX\nA3-" + Random("op-lower", 6, Lower) + "-" + Random("op-lower2", 6, Upper));
        data.Add("cloudflare-origin-ca-key", "version v1.0-" + Random("cf-ver", 24, Hex) + "-rc1\ncloudflare_commit: " + Random("cf-sha", 40, Hex));
        return data;
    }

    [Theory]
    [MemberData(nameof(NearMisses))]
    public void Vendor_near_misses_are_not_reported(string rule, string text)
    {
        var findings = DefaultRulesTests.Scan("notes.md", text);
        Assert.True(findings.Count == 0, $"{rule}: unexpected {string.Join(", ", findings.Select(f => $"{f.RuleId} {f.Preview}"))}");
    }

    [Fact]
    public void GitHub_and_npm_tokens_whose_checksum_fails_are_made_up_not_issued()
    {
        var real = GitHubClassic("checksum");
        Assert.Single(DefaultRulesTests.Scan("ci.sh", "export GITHUB_TOKEN=" + real));
        var wrong = real[..^1] + (real[^1] == 'a' ? 'b' : 'a');
        var allowed = new List<AllowedValue>();
        var findings = new List<SecretFinding>();
        new SecretEngine(SecretRules.Default, new ScanPolicy { Allowed = allowed }).Scan(new ScanFragment { File = "ci.sh", Text = "echo " + wrong }, findings);
        Assert.Empty(findings);
        Assert.Contains(allowed, a => a.RuleId == "github-pat" && a.Reason.Contains("checksum", StringComparison.Ordinal));
        Assert.Empty(DefaultRulesTests.Scan("npm.md", "echo " + Npm("checksum")[..^1] + "Q"));
        Assert.Single(DefaultRulesTests.Scan("npm.md", "echo " + Npm("checksum")));
    }
}
