using System.Text;
using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Secrets;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>Each default rule on true positives and near misses, in the syntaxes people commit them in.</summary>
public sealed class DefaultRulesTests
{
    internal static List<SecretFinding> Scan(string file, string text, SecretRules? rules = null, bool inlineAllow = true)
    {
        var findings = new List<SecretFinding>();
        var engine = new SecretEngine(rules ?? SecretRules.Default, new ScanPolicy { HonorInlineAllow = inlineAllow });
        if (engine.Scan(new ScanFragment { File = file, Text = text }, findings) == 0)
        {
            engine.ScanFileName(file, null, text.Contains('\0', StringComparison.Ordinal), () => SecretFingerprint.BlobId(Encoding.UTF8.GetBytes(text)), findings);
        }

        return findings;
    }

    public static TheoryData<string, string, string> Positives() => new()
    {
        // rule, file, content
        { "private-key", "deploy/key.pem", Pem() },
        { "private-key", "notes.txt", "here it is:\n" + Pem("OPENSSH PRIVATE KEY", "openssh") },
        { "private-key", "keys/ec.key", Pem("EC PRIVATE KEY", "ec") },
        { "private-key", "secring.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n" + PemBody("pgp") + "\n-----END PGP PRIVATE KEY BLOCK-----\n" },
        { "private-key", "legacy.pem", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0F1E2D3C4B5A69788796A5B4C3D2E1F0\n\n" + PemBody("enc") + "\n-----END RSA PRIVATE KEY-----\n" },
        { "private-key", "src/Signer.cs", "const string Key = \"-----BEGIN PRIVATE KEY-----\\n" + PemBody("cs").Replace("\n", "\\n", StringComparison.Ordinal) + "\\n-----END PRIVATE KEY-----\";" },
        { "private-key", "signer.py", "KEY = \"\"\"-----BEGIN RSA PRIVATE KEY-----\n" + PemBody("py") + "\n-----END RSA PRIVATE KEY-----\"\"\"\n" },
        { "private-key", "values.yaml", "tls:\n  key: |\n    -----BEGIN EC PRIVATE KEY-----\n    " + PemBody("yaml").Replace("\n", "\n    ", StringComparison.Ordinal) + "\n    -----END EC PRIVATE KEY-----\n" },
        { "gcp-service-account", "sa.json", "{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-123\",\n  \"private_key_id\": \"" + Random("kid", 40, Hex) + "\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n" + PemBody("gcp").Replace("\n", "\\n", StringComparison.Ordinal) + "\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"bot@demo-123.iam.gserviceaccount.com\"\n}\n" },
        { "gcp-service-account", "sa-min.json", "{\"type\":\"service_account\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\n" + PemBody("gcp2").Replace("\n", "\\n", StringComparison.Ordinal) + "\\n-----END PRIVATE KEY-----\\n\"}" },
        { "aws-access-key-id", ".env", "AWS_ACCESS_KEY_ID=" + AwsAccessKeyId() },
        { "aws-access-key-id", "deploy.sh", "aws configure set aws_access_key_id " + AwsAccessKeyId("sh") },
        { "aws-access-key-id", "config.json", "{\"accessKeyId\": \"" + AwsAccessKeyId("json") + "\"}" },
        { "aws-secret-access-key", "credentials", "[default]\nregion = eu-west-1\naws_secret_access_key = " + AwsSecretKey() + "\n" },
        { "aws-secret-access-key", "template.yaml", "Outputs:\n  SecretAccessKey: " + AwsSecretKey("yaml") + "\n" },
        { "aws-secret-access-key", "Program.cs", "var awsSecretKey = \"" + AwsSecretKey("cs") + "\";" },
        { "github-pat", "ci.sh", "export GITHUB_TOKEN=" + GitHubClassic() },
        { "github-pat", "bot.py", "token = \"" + GitHubClassic("py") + "\"" },
        { "github-pat", "remote.txt", "https://" + GitHubClassic("url") + "@github.com/org/repo.git" },
        { "github-fine-grained-pat", "settings.json", "{\"github\": {\"token\": \"" + GitHubFineGrained() + "\"}}" },
        { "github-oauth-token", "hosts.yml", "github.com:\n    oauth_token: " + GitHubOAuth() + "\n" },
        { "github-app-token", "action.js", "const token = '" + GitHubApp() + "';" },
        { "github-app-token", "action.ts", "headers.set('x-token', '" + GitHubApp("ghu", 'u') + "')" },
        { "github-refresh-token", "tokens.txt", GitHubRefresh() },
        { "gitlab-pat", ".gitlab-ci.yml", "variables:\n  GITLAB_TOKEN: " + GitLabPat() + "\n" },
        { "gitlab-token", "runner.toml", "token = \"" + GitLabRunner() + "\"" },
        { "gitlab-token", "trigger.sh", "curl -X POST -F token=" + GitLabTrigger() + " https://gitlab.example.org/api/v4/projects/1/trigger/pipeline" },
        { "slack-token", "slack.py", "client = WebClient(token=\"" + SlackBot() + "\")" },
        { "slack-webhook", "notify.sh", "curl -X POST -d '{\"text\":\"hi\"}' " + SlackWebhook() },
        { "stripe-key", "billing.rb", "Stripe.api_key = '" + StripeLive() + "'" },
        { "stripe-key", "appsettings.json", "{\"Stripe\": {\"SecretKey\": \"" + StripeRestrictedTest() + "\"}}" },
        { "stripe-webhook-secret", "webhook.go", "endpointSecret := \"" + StripeWebhook() + "\"" },
        { "google-api-key", "maps.html", "<script src=\"https://maps.googleapis.com/maps/api/js?key=" + GoogleApiKey() + "&callback=init\"></script>" },
        { "google-api-key", "firebase.js", "const firebaseConfig = { apiKey: \"" + GoogleApiKey("fb") + "\" };" },
        { "openai-api-key", "chat.py", "client = OpenAI(api_key=\"" + OpenAiProject() + "\")" },
        { "openai-api-key", ".envrc", "export OPENAI_API_KEY=" + OpenAiLegacy() },
        { "anthropic-api-key", "agent.ts", "const anthropic = new Anthropic({ apiKey: '" + Anthropic() + "' });" },
        { "azure-storage-account-key", "appsettings.json", "{\"ConnectionStrings\": {\"Blob\": \"DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=" + AzureStorageKey() + ";EndpointSuffix=core.windows.net\"}}" },
        { "azure-storage-key", "deploy.yaml", "env:\n  AZURE_STORAGE_KEY: \"" + AzureStorageKey("yaml") + "\"\n" },
        { "azure-sas-token", "download.sh", "curl 'https://acct1.blob.core.windows.net/c/file.zip?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&spr=https&sig=" + Random("sas", 43, Alnum) + "%3D'" },
        { "twilio-api-key", ".env", "TWILIO_API_KEY=" + TwilioApiKey() },
        { "twilio-auth-token", "sms.py", "twilio_auth_token = \"" + Random("twilio-auth", 32, Hex) + "\"" },
        { "sendgrid-api-key", "mail.cs", "var client = new SendGridClient(\"" + SendGrid() + "\");" },
        { "npm-access-token", ".npmrc", "//registry.npmjs.org/:_authToken=" + Npm() },
        { "npmrc-auth", ".npmrc", "//npm.pkg.example-registry.net/:_authToken=" + Random("npmrc", 40, Alnum) },
        { "pypi-token", ".pypirc", "[pypi]\nusername = __token__\npassword = " + PyPi() + "\n" },
        { "nuget-api-key", "publish.sh", "dotnet nuget push pkg.nupkg --api-key " + NuGet() + " --source nuget.org" },
        { "huggingface-token", ".env", "HF_TOKEN=" + HuggingFace() },
        { "huggingface-token", "config.json", "{\"hf_token\": \"" + HuggingFace("json") + "\"}" },
        { "huggingface-token", "train.py", "login(token=\"" + HuggingFace("py") + "\")" },
        { "huggingface-token", "download.sh", "huggingface-cli login --token " + HuggingFace("sh") },
        { "huggingface-token", "values.yaml", "inference:\n  orgToken: " + HuggingFaceOrg() + "\n" },
        { "onepassword-service-account-token", ".env", "OP_SERVICE_ACCOUNT_TOKEN=" + OnePassword() },
        { "onepassword-service-account-token", ".github/workflows/deploy.yml", "env:\n  OP_SERVICE_ACCOUNT_TOKEN: \"" + OnePassword("yaml") + "\"\n" },
        { "onepassword-service-account-token", "secrets.ts", "const client = await createClient({ auth: '" + OnePassword("ts") + "' });" },
        { "vault-token", ".envrc", "export VAULT_TOKEN=" + VaultService() },
        { "vault-token", "vault.json", "{\"auth\": {\"client_token\": \"" + VaultService("json") + "\"}}" },
        { "vault-token", "Vault.cs", "var client = new VaultClient(new VaultClientSettings(url, new TokenAuthMethodInfo(\"" + VaultBatch() + "\")));" },
        { "vault-token-legacy", ".env", "VAULT_TOKEN=" + VaultLegacy() },
        { "vault-token-legacy", "vault.yaml", "vault:\n  vault_token: \"" + VaultLegacy("yaml") + "\"\n" },
        { "vault-token-legacy", "read.sh", "curl -H \"X-Vault-Token: " + VaultLegacy("sh") + "\" https://vault.internal.corp:8200/v1/secret/data/app" },
        { "tailscale-key", ".env", "TS_AUTHKEY=" + Tailscale() },
        { "tailscale-key", "join.sh", "tailscale up --auth-key=" + Tailscale("auth", "sh") + " --ssh" },
        { "tailscale-key", "docker-compose.yml", "services:\n  ts:\n    environment:\n      - TS_AUTHKEY=" + Tailscale("client", "yaml") + "\n" },
        { "tailscale-key", "tailnet.go", "client := tailscale.NewClient(\"-\", tailscale.APIKey(\"" + Tailscale("api", "go") + "\"))" },
        { "grafana-cloud-api-token", ".env", "GRAFANA_CLOUD_TOKEN=" + GrafanaCloud() },
        { "grafana-cloud-api-token", "alloy.yaml", "basic_auth:\n  username: 123456\n  password: " + GrafanaCloud("yaml") + "\n" },
        { "grafana-service-account-token", "dashboards.sh", "curl -H \"Authorization: Bearer " + GrafanaServiceAccount() + "\" https://grafana.internal.corp/api/dashboards/uid/abc" },
        { "grafana-service-account-token", "provider.tf", "provider \"grafana\" {\n  auth = \"" + GrafanaServiceAccount("tf") + "\"\n}\n" },
        { "grafana-service-account-token", "grafana.json", "{\"grafana\": {\"token\": \"" + GrafanaServiceAccount("json") + "\"}}" },
        { "linear-api-key", ".env", "LINEAR_API_KEY=" + Linear() },
        { "linear-api-key", "linear.ts", "const linear = new LinearClient({ apiKey: \"" + Linear("ts") + "\" });" },
        { "groq-api-key", ".env", "GROQ_API_KEY=" + Groq() },
        { "groq-api-key", "chat.py", "client = Groq(api_key=\"" + Groq("py") + "\")" },
        { "groq-api-key", "settings.json", "{\"groq\": {\"apiKey\": \"" + Groq("json") + "\"}}" },
        { "notion-token", ".env", "NOTION_TOKEN=" + Notion() },
        { "notion-token", "notion.js", "const notion = new Client({ auth: '" + Notion("js") + "' });" },
        { "notion-token", "sync.yaml", "notion:\n  token: " + Notion("yaml") + "\n" },
        { "sourcegraph-token", ".env", "SRC_ACCESS_TOKEN=" + Sourcegraph(Random("sg-instance", 16, Hex)) },
        { "sourcegraph-token", "search.sh", "curl -H 'Authorization: token " + Sourcegraph("local", "sh") + "' https://sourcegraph.internal.corp/.api/graphql" },
        { "sourcegraph-token", "cody.json", "{\"cody.accessToken\": \"" + Sourcegraph(null, "json") + "\"}" },
        { "figma-token", "export.py", "requests.get(url, headers={\"X-Figma-Token\": \"" + Figma() + "\"})" },
        { "figma-token", "figma.yaml", "figma:\n  pat: " + Figma("yaml", 120) + "\n" },
        { "shopify-token", ".env", "SHOPIFY_ACCESS_TOKEN=" + Shopify() },
        { "shopify-token", "shopify.rb", "ShopifyAPI::Context.setup(api_key: key, api_secret_key: \"" + Shopify("ss", "rb") + "\")" },
        { "shopify-token", "app.yaml", "shopify:\n  admin_token: " + Shopify("ca", "yaml") + "\n" },
        { "shopify-token", "shop.json", "{\"password\": \"" + Shopify("pa", "json") + "\"}" },
        { "shopify-token", "shopify.toml", "client_secret = \"" + Shopify("ss", "toml", 38, Alnum) + "\"" },
        { "shopify-token", "deploy.sh", "curl -H \"X-Shopify-Access-Token: " + Shopify("at", "sh", 64, Alnum) + "\" $SHOP/admin" },
        { "vercel-token", ".env", "VERCEL_TOKEN=" + Vercel() },
        { "vercel-token", "deploy.sh", "vercel deploy --prod --token " + Vercel('i', "sh") },
        { "vercel-token", "ai.ts", "const gateway = createGateway({ apiKey: '" + Vercel('k', "ts") + "' });" },
        { "cloudflare-api-token", ".env", "CLOUDFLARE_API_TOKEN=" + CloudflareLegacy() },
        { "cloudflare-api-token", "wrangler.sh", "export CF_API_TOKEN=\"" + CloudflareLegacy("sh") + "\"" },
        { "cloudflare-api-token", "dns.yaml", "cloudflare:\n  api_token: " + CloudflareScannable() + "\n" },
        { "cloudflare-api-token", "purge.py", "cf = Cloudflare(api_token=\"" + CloudflareScannable("at", "py") + "\")" },
        { "cloudflare-api-token", "cf.json", "{\"cloudflareApiKey\": \"" + Random("cf-global", 37, Hex) + "\"}" },
        { "facebook-access-token", ".env", "FACEBOOK_ACCESS_TOKEN=" + Facebook(60) },
        { "facebook-access-token", "graph.sh", "curl \"https://graph.facebook.com/v19.0/me?access_token=" + Facebook(200, "sh") + "\"" },
        { "facebook-access-token", "meta.json", "{\"facebook\": {\"page_token\": \"" + Facebook(80, "json") + "\"}}" },
        { "facebook-access-token", "ads.py", "FacebookAdsApi.init(app_id, app_secret, \"" + Facebook(160, "py") + "\")" },
        { "azure-ad-client-secret", ".env", "AZURE_CLIENT_SECRET=" + AzureAdSecret() },
        { "azure-ad-client-secret", "appsettings.json", "{\"AzureAd\": {\"ClientSecret\": \"" + AzureAdSecret("json") + "\"}}" },
        { "azure-ad-client-secret", "Auth.cs", "var credential = new ClientSecretCredential(tenantId, clientId, \"" + AzureAdSecret("cs") + "\");" },
        { "azure-ad-client-secret", "login.sh", "az login --service-principal -u $APP_ID -p '" + AzureAdSecret("sh") + "' --tenant $TENANT" },
        { "github-app-token", "install-token.txt", GitHubStateless() },
        { "github-app-token", "action.yml", "env:\n  GH_TOKEN: " + GitHubStateless("yaml") + "\n" },
        { "docker-config-auth", "config.json", "{\n  \"auths\": {\n    \"registry.example-corp.io\": {\n      \"auth\": \"" + Convert.ToBase64String(Encoding.UTF8.GetBytes("deploy:" + Password("docker"))) + "\"\n    }\n  }\n}\n" },
        { "jwt", "fixtures.yaml", "session: " + Jwt() },
        { "url-password", ".env.production", "DATABASE_URL=postgres://app:" + Password("db") + "@db.internal:5432/app" },
        { "url-password", "clone.sh", "git clone https://builder:" + Random("url-tok", 30) + "@git.internal.corp/org/repo.git" },
        { "connection-string-password", "Db.cs", "var cs = \"Server=db01;Database=app;User Id=sa;Password=" + Password("conn") + ";\";" },
        { "authorization-header", "call.sh", "curl -H \"Authorization: Bearer " + Random("bearer", 40, Base64Url) + "\" https://api.internal.corp/v1/items" },
        { "dotenv-secret", ".env", "NODE_ENV=production\nSESSION_SECRET=" + Random("session", 8, Lower) + "\n" },
        { "dotenv-secret", "config/.env.local", "DB_PASSWORD='" + Random("dbpw", 12, Lower) + "'\n" },
        { "generic-secret", "auth.py", "CLIENT_SECRET = \"" + Random("client-secret", 32) + "\"" },
        { "generic-hex-secret", "Settings.cs", "private const string ApiKey = \"" + Random("cs-key", 32, Hex) + "\";" },
        { "generic-hex-secret", "mailer.env.yaml", "mail:\n  api-key: " + Random("hex-key", 40, Hex) + "\n" },
        { "generic-secret", "Client.cs", "private const string ApiKey = \"" + Random("cs-key", 32) + "\";" },
        { "generic-secret", "values.yaml", "service:\n  api_key: " + Random("yaml-key", 24) + "\n" },
        { "generic-secret", "appsettings.json", "{\"Auth\": {\"Password\": \"" + Password("json") + "\"}}" },
        { "generic-secret", "run.sh", "export SERVICE_TOKEN=" + Random("sh-token", 28) },
        { "generic-secret", "app.properties", "db.password=" + Password("props") },
        { "ssh-private-key-file", "deploy/id_ed25519", "PuTTY-User-Key-File-3: ssh-ed25519\n" + Random("putty", 80, Base64) },
        { "pkcs12-file", "certs/client.p12", "\u0030\u0082\u0009\u0000\u0002\u0001\u0003" + Random("p12", 200, Base64) },
        { "java-keystore-file", "android/release.jks", "\u00FE\u00ED\u00FE\u00ED\u0000\u0000\u0000\u0002" + Random("jks", 100, Base64) },
    };

    [Theory]
    [MemberData(nameof(Positives))]
    public void Each_rule_finds_its_secret(string rule, string file, string text)
    {
        var findings = Scan(file, text);
        Assert.True(findings.Count == 1, $"expected one {rule} finding, got: {string.Join(", ", findings.Select(f => f.RuleId))}");
        Assert.Equal(rule, findings[0].RuleId);
        Assert.Equal(file, findings[0].File);
        Assert.EndsWith("***", findings[0].Preview, StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]{32}$", findings[0].Fingerprint);
    }

    public static TheoryData<string, string> NearMisses() => new()
    {
        // file, content: nothing here is a secret
        { "cert.pem", "-----BEGIN CERTIFICATE-----\n" + PemBody("cert") + "\n-----END CERTIFICATE-----\n" },
        { "pub.pem", "-----BEGIN PUBLIC KEY-----\n" + PemBody("pub") + "\n-----END PUBLIC KEY-----\n" },
        { "Pem.cs", "if (text.StartsWith(\"-----BEGIN PRIVATE KEY-----\", StringComparison.Ordinal)) { return Parse(text); }" },
        { "pem.py", "HEADER = '-----BEGIN RSA PRIVATE KEY-----'\nFOOTER = '-----END RSA PRIVATE KEY-----'\n" },
        { "sa.json", "{\"type\": \"service_account\", \"private_key\": \"<your-private-key>\"}" },
        { "docs.md", "Use AWS_ACCESS_KEY_ID=" + "AKIA" + "IOSFODNN7EXAMPLE in the examples." },
        { "credentials", "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY" },
        { "credentials.tmpl", "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}" },
        { "tz.txt", "TZ=Asia/Tokyo and ASIAN markets" },
        { "low.txt", "id = " + "AKIA" + new string('A', 16) },
        { "gh.md", "GITHUB_TOKEN=" + "gh" + "p_" + new string('x', 36) },
        { "gh-short.txt", "gh" + "p_" + Random("short", 35) + " is one short" },
        { "gh-long.txt", "gh" + "p_" + Random("long", 37) },
        { "gitlab.md", "GITLAB_TOKEN: " + "gl" + "pat-" + "xxxxxxxxxxxxxxxxxxxx" },
        { "slack.md", "SLACK_TOKEN=" + "xo" + "xb-your-token-here" },
        { "hook.md", "https://hooks." + "slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX" },
        { "stripe.js", "const publishable = 'pk" + "_live_" + Random("pk", 24) + "';" },
        { "maps.md", "Google keys look like " + "AI" + "za" + Random("short-aiza", 30, Base64Url) + " (truncated here)" },
        { "hashes.py", "cache_key = \"" + Random("cache", 40, Hex) + "\"\ncommit_sha = \"" + Random("sha", 40, Hex) + "\"\nkeyId: " + Random("kid2", 32, Hex) },
        { "openai.md", "export OPENAI_API_KEY=" + "sk" + "-your-key-here" },
        { "tasks.txt", "task-1234 mask-layer desk-lamp risk-assessment" },
        { "anthropic.md", "ANTHROPIC_API_KEY=" + "sk" + "-ant-api03-" + "REPLACE_ME" },
        { "azurite.json", "{\"Storage\": \"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/" + "K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\"}" },
        { "skip.txt", "SKIP_TESTS=1 SK" + Random("sk31", 31, Hex) },
        { "npm.md", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" },
        { "jwt.md", "Example: " + "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c" },
        { "urls.md", "See https://github.com/org/repo and http://localhost:8080/health and https://user:password@example.com/x" },
        { "guide.md", "https://username:mypassword@test.com/endpoint\nhttps://user:abc@api.com/v1\nhttps://user:1111@service.com/api\nftp://me:your_secret@files.example.net" },
        { "db.yaml", "url: postgres://app:${DB_PASSWORD}@db:5432/app\nother: https://docs.example.org/a:b@c" },
        { "Db.cs", "var cs = $\"Server={host};Database=app;User Id=sa;Password={0};\";" },
        { "call.sh", "curl -H \"Authorization: Bearer ${TOKEN}\" -H 'Authorization: Bearer <token>' https://api.internal.corp" },
        { ".env.example", "SESSION_SECRET=keyboardcat\nAPI_KEY=abc123" },
        { ".env", "PORT=3000\nAPI_TIMEOUT=30\nAPI_URL=https://api.internal.corp\nSESSION_DRIVER=redis\nAUTH_ENABLED=true\nDB_PASSWORD=changeme\n" },
        { "Code.cs", "var token = cancellationToken;\nvar key = dictionary.Keys.First();\nthis.authService = authService;\nvar secret = options.Value.ClientSecret;" },
        { "code.py", "password = getpass.getpass()\nkey = os.environ[\"API_KEY\"]\ntoken = request.headers.get(\"Authorization\")" },
        { "ids.json", "{\"keyId\": \"" + Random("key-id", 32) + "\", \"publicKey\": \"" + Random("public", 44, Base64) + "\"}" },
        { "api.py", "api_version = \"2023-10-01-preview\"\ntoken_type = \"bearer\"" },
        { "k8s.yaml", "secretName: my-app-database-password\nsecret_name: my-app-database-password\nkey_file: /etc/ssl/private/server.key" },
        { "config.yaml", "password: changeme\napi_key: <your-api-key>\ntoken: \"{{ .Values.token }}\"\nsecret: xxxxxxxxxxxxxxxx" },
        { "package-lock.json", "\"integrity\": \"sha512-" + Random("lock", 86, Base64) + "==\", \"token\": \"" + Random("lock-token", 32) + "\"" },
        { "constants.cs", "public const string TokenHeader = \"X-Session-Token-Header\";\nprivate const string AuthScheme = \"SUPER_SECRET_SCHEME\";" },
        { "deploy/id_rsa.pub", "ssh-ed25519 " + Random("pubkey", 68, Base64) + " me@host" },
        { "android/debug.keystore", "\u00FE\u00ED\u00FE\u00ED\u0000\u0000\u0000\u0002" + Random("debug-ks", 100, Base64) },
        // A key store by name alone is not one: an empty, text or placeholder file with the name is no finding.
        { "certs/client.p12", "placeholder: generated by scripts/make-certs.sh\n" },
        { "test/fixtures/keystore.pfx", "" },
        { "app/release.jks", "see docs/signing.md" },
        { "stdlib.py", "self.key = '_threading_local._localimpl.' + str(id(self))\nRegOpenKeyEx = win32api.RegOpenKeyEx\nX509_PUBKEY = X509_pubkey_st\nbase_key = \"Software\\\\Python\\\\PythonCore\\\\{}.{}\".format(a, b)\nkey = \"Europe/Dublin\"\n_key = \"python.xml.sax.parser\"" },
        // Vendor formats: wrong length or charset, placeholders, documented examples, code that shares a prefix. The
        // values sit in prose or under neutral names: a random value under a secret-looking name is generic-secret's.
        { "hf.md", "HF_TOKEN=" + "h" + "f_" + new string('x', 34) + "\nfrom huggingface_hub import hf_hub_download, hf_hub_url\nsee h" + "f_" + Random("hf33", 33, Letters) + " and h" + "f_" + Random("hf35", 35, Letters) },
        { "models.py", "from transformers import 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 as h\nvcr_cassette_for_test_upload_of_a_large_file_with_retries123 = load()" },
        { "hf-digit.txt", "model ref: " + "h" + "f_" + Random("hfd", 20, Letters) + "7" + Random("hfd2", 13, Letters) },
        { "op.md", "A token starts " + "op" + "s_" + "eyJ" + Random("ops-short", 120, Base64Url) + " (cut short here)\nOP_SERVICE_ACCOUNT_TOKEN=" + "op" + "s_your_token_here" },
        { "vault.md", "Service tokens look like " + "hv" + "s." + Random("hvs-short", 60, Base64Url) + "\nexport VAULT_TOKEN=root\nsession = \"" + "s." + Random("not-vault", 24) + "\"\nvault_token: " + "s." + "xxxxxxxxxxxxxxxxxxxxxxxx" },
        { "vault-example.hcl", "token = \"" + "hv" + "s." + "EXAMPLE" + Random("hvs-example", 90, Base64Url) + "\"" },
        { "ts.md", "The key ID looks like " + "ts" + "key-api-abcDEF1CNTRL-091234567890ABCDEF" + "\nTS_AUTHKEY=" + "ts" + "key-auth-XXXXXXCNTRL-XXXXXXXXXXXXXXXXXXXXXXXXXXXX" + "\nnot a kind: " + "ts" + "key-other-" + Random("ts-kind", 7) + "CNTRL-" + Random("ts-kind2", 32) },
        { "grafana.md", "not hex at the end: " + "gl" + "sa_" + Random("glsa-bad", 32) + "_" + Random("glsa-crc", 8, "ghijklmnopqrstuvwxyz") + "\ntoo short: " + "gl" + "c_" + Random("glc-short", 20, Base64) + "\nglc_total = glsa_count + 1" },
        { "prefixes.md", "one short: " + "lin" + "_api_" + Random("lin39", 39) + " and " + "gs" + "k_" + Random("gsk51", 51) + "\nletters where digits go: " + "nt" + "n_" + Random("ntn-letters", 46, Letters) + "\nLINEAR_API_KEY=" + "lin" + "_api_" + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
        { "sg.md", "not hex: " + "sg" + "p_" + Random("sg-nohex", 40, "ghijklmnopqrstuvwxyz") + "\none short: " + "sg" + "p_" + Random("sg-short", 39, Hex) },
        { "figma.md", "one short: " + "fi" + "gd_" + Random("figma39", 39, Base64Url) + "\nfigd_abc and the figd_ prefix\nmy" + "figd_" + Random("figma-word", 43) },
        { "shopify.md", "too long: " + "shp" + "at_" + Random("shp-long", 65) + "\nnot a kind: " + "shp" + "xx_" + Random("shp-kind", 32, Hex) + "\none short: " + "shp" + "at_" + Random("shp-short", 31) },
        { "vcr_test.py", "vcr_cassette_dir = os.path.join(os.path.dirname(__file__), 'cassettes')\n@pytest.mark.vcr\ndef vcr_config(): return {'filter_headers': ['authorization']}\none short: " + "vc" + "p_" + Random("vcp55", 55) },
        { "cloudflare.md", "CLOUDFLARE_API_TOKEN=${CLOUDFLARE_API_TOKEN}\nCF_API_TOKEN=" + "your-cloudflare-token" + "\nCLOUDFLARE_ZONE_ID=" + Random("zone", 32, Hex) + "\nBUILD_ID=" + Random("build", 40, Base64Url) + "\ncfut_count = 3\none short: " + "cf" + "ut_" + Random("cfut39", 39) + "\none past its checksum: " + "cf" + "at_" + Random("cfat-long", 40) + Random("cfat-long-crc", 8, Hex) + "Z" + "\nan upper-case checksum: " + "cf" + "at_" + Random("cfat-upper", 40) + Random("cfat-upper-crc", 8, Hex).ToUpperInvariant() },
        { "fb.md", "FB_ACCESS_TOKEN=" + "EA" + "AG" + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" + "\nid = \"" + "EA" + "AG" + Random("eaa-no-name", 60) + "\"\nEAAC_MODE = 1" },
        { "entra.md", "value = \"" + Random("entra-short", 3) + "8Q" + "~" + Random("entra-short2", 20) + "\"\nhome = \"~/.config\" and Q~ in prose" },
        { "ghs.md", "Installation tokens start with " + "gh" + "s_" + " and stateless ones look like " + "gh" + "s_" + "123_abc.def.ghi" + "\ntoken = ghs_client.installation_tokens.create_for_repository_with_permissions(repo)" },
        { "Keys.cs", "var hmacKey = GenerateKey(32);\nvar keyboard = new KeyboardLayout(\"us-international\");" },
    };

    [Theory]
    [MemberData(nameof(NearMisses))]
    public void Near_misses_are_not_reported(string file, string text)
    {
        var findings = Scan(file, text);
        Assert.True(findings.Count == 0, $"unexpected: {string.Join(", ", findings.Select(f => $"{f.RuleId} line {f.Line} {f.Preview}"))}");
    }

    [Fact]
    public void Every_default_rule_has_a_positive_case_and_runs_on_the_non_backtracking_engine()
    {
        // These run on many lines, so they ask for the faster backtracking engine; Hostile_lines_take_linear_time covers them.
        string[] backtracking = ["url-password", "url-token-user", "curl-credential", "twilio-api-key", "generic-hex-secret", "generic-secret"];
        var covered = Positives().Concat(VendorRulesTests.Positives()).Concat(GenericRulesTests.Positives()).Select(row => (string)row[0]).ToHashSet();
        foreach (var rule in SecretRules.Default.Rules)
        {
            Assert.Contains(rule.Id, covered);
            if (!rule.IsFileRule)
            {
                Assert.Equal(!backtracking.Contains(rule.Id), rule.Regex!.Options.HasFlag(RegexOptions.NonBacktracking));
                _ = new Regex(rule.Regex.ToString(), RegexOptions.NonBacktracking); // throws for lookarounds and backreferences
            }
        }
    }

    [Fact]
    public void Reading_the_default_rules_builds_none_of_their_regexes()
    {
        // The service reads the rules at start and then sits idle: a built non-backtracking regex holds 0.3-2.5 MB of
        // tables, and the rules and their path globs need well over a hundred. Reading them checks every pattern with
        // the interpreter (a few KB each); the engines wait for the first line or path that asks.
        string json;
        using (var stream = typeof(SecretRules).Assembly.GetManifestResourceStream("Mosaic.Orchestrator.Secrets.default-rules.json")!)
        using (var reader = new StreamReader(stream))
        {
            json = reader.ReadToEnd();
        }

        _ = SecretRules.Parse(json, "default-rules.json", baseRules: null); // first use of the types, caches, statics
        var before = GC.GetAllocatedBytesForCurrentThread();
        var rules = SecretRules.Parse(json, "default-rules.json", baseRules: null);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 << 20, $"reading the default rules allocated {allocated / 1024} KB");

        // Built when asked, and then they match as before.
        var keys = rules.Rules.Single(r => r.Paths.Any(p => p.Pattern == "**/*.p12"));
        Assert.True(keys.AppliesTo("certs/a.p12"));
        Assert.False(keys.AppliesTo("certs/a.p12.txt"));
    }

    [Fact]
    public void Hostile_lines_take_linear_time()
    {
        // Long runs of what the rules' repetitions accept, after every keyword: a backtracking engine would stall here.
        var keywords = SecretRules.Default.ContentRules.SelectMany(r => r.Keywords).Distinct().ToList();
        var text = new StringBuilder();
        foreach (var keyword in keywords)
        {
            text.Append(keyword).Append(" = \"").Append('a', 20_000).Append(' ').Append(keyword).Append(":=").Append('A', 20_000).Append('\n');
            text.Append("-----BEGIN PRIVATE KEY-----").Append('\n', 5_000).Append(keyword).Append("://").Append(':', 5_000).Append('\n');
            text.Append("-----BEGIN PRIVATE KEY-----").Append('+', 60).Append(';').Append(keyword).Append("://u:").Append('p', 5_000).Append('\n');
            text.Append(keyword).Append('=').Append('0', 20_000).Append("z ").Append(keyword).Append(' ', 5_000).Append(":\"").Append('x', 149).Append('\n');
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var findings = Scan("hostile.txt", text.ToString());
        Assert.DoesNotContain(findings, f => f.RuleId == SecretEngine.TimeoutRuleId);
        // Linear is 7-11 s on this machine alone; a superlinear rule on these 20,000-character runs would take hours,
        // so the bound leaves room for a suite that runs other classes beside this one on two loaded cores.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }
}
