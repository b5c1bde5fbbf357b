using System.IO.Compression;
using System.Text;
using Mosaic.Orchestrator.Secrets;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// Recall and false alarms on a corpus of our own, written from the published formats (gitleaks' own rule examples
/// are measured apart: <see cref="SecretsPeers"/>): real-shaped true positives of every documented format and of the prefix-less
/// shapes (generic names in many assignment syntaxes, curl -u and headers, URL user parts, API-key headers, Kubernetes
/// Secrets, NuGet.Config, Bundler and Terraform credentials, vendor keys behind vendor names, UUID API keys, base64, hex
/// and gzip+base64 values), each in several file syntaxes; and negatives of the kinds peer corpora list as false alarms
/// (identifiers, alphabet constants, placeholders, default credentials, URLs without a password, truncated and made-up
/// keys, public keys and ids). Values are drawn from a seeded generator, so every run sees the same corpus. A true
/// positive counts as found when any finding is on its line; a negative is a false alarm when anything is reported.
/// </summary>
internal static class SecretsRecall
{
    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Digits = "0123456789";
    private const string Alnum = Upper + Lower + Digits;
    private const string Hex = "0123456789abcdef";
    private const string B64 = Alnum + "+/";
    private const string B64Url = Alnum + "-_";

    public static void Run(TextWriter output, SecretRules rules, SecretRules? before = null)
    {
        var random = new Random(20261204);
        string R(int length, string alphabet = Alnum) => string.Create(length, alphabet, (span, a) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = a[random.Next(a.Length)];
            }
        });
        string Crc(string body) => body + TokenChecksums.Encode(TokenChecksums.Crc32(body));
        string Uuid() => $"{R(8, Hex)}-{R(4, Hex)}-{R(4, Hex)}-{R(4, Hex)}-{R(12, Hex)}";
        static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        static string GzipBase64(string text)
        {
            using var buffer = new MemoryStream();
            using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
            {
                gzip.Write(Encoding.UTF8.GetBytes(text));
            }

            return Convert.ToBase64String(buffer.ToArray());
        }

        // Tokens with a documented prefix: each goes into four syntaxes.
        var tokens = new List<(string Kind, Func<string> Make)>
        {
            ("aws-access-key-id", () => "AK" + "IA" + R(16, Upper + "234567")), ("github-pat", () => "gh" + "p_" + Crc(R(30))),
            ("github-oauth", () => "gh" + "o_" + Crc(R(30))), ("github-app", () => "gh" + "s_" + Crc(R(30))),
            ("github-fine-grained", () => "github" + "_pat_" + R(22) + "_" + R(59)), ("gitlab-pat", () => "gl" + "pat-" + R(20, B64Url)),
            ("slack-bot", () => "xo" + "xb-" + R(12, Digits) + "-" + R(13, Digits) + "-" + R(24)), ("stripe", () => "sk" + "_live_" + R(24)),
            ("google-api", () => "AI" + "za" + R(35, B64Url)), ("openai", () => "sk" + "-proj-" + R(40, B64Url) + "T3Blbk" + "FJ" + R(40, B64Url)),
            ("anthropic", () => "sk" + "-ant-api03-" + R(93, B64Url) + "AA"), ("sendgrid", () => "S" + "G." + R(22, B64Url) + "." + R(43, B64Url)),
            ("npm", () => "np" + "m_" + Crc(R(30))), ("pypi", () => "py" + "pi-" + "AgEIcHlwaS5vcmc" + R(70, B64Url)),
            ("nuget", () => "oy" + "2" + R(43, Lower + Digits)), ("huggingface", () => "h" + "f_" + R(34, Upper + Lower)),
            ("vault", () => "hv" + "s." + R(91, B64Url)), ("tailscale", () => "ts" + "key-auth-" + R(7) + "CNTRL-" + R(32)),
            ("grafana-sa", () => "gl" + "sa_" + R(32) + "_" + R(8, Hex)), ("linear", () => "lin" + "_api_" + R(40)), ("groq", () => "gs" + "k_" + R(52)),
            ("notion", () => "nt" + "n_" + R(11, Digits) + R(35)), ("shopify", () => "shp" + "at_" + R(32, Hex)), ("vercel", () => "vc" + "p_" + R(50, B64Url) + R(6)),
            ("azure-ad", () => R(3) + R(1, Digits) + "Q" + "~" + R(34, Alnum + "_~.-")),
            ("google-oauth-secret", () => "GOC" + "SPX-" + R(28, B64Url)), ("digitalocean", () => "do" + "p_v1_" + R(64, Hex)),
            ("doppler", () => "dp." + "st." + R(43)), ("databricks", () => "da" + "pi" + R(32, Hex)), ("planetscale", () => "pscale" + "_pw_" + R(43)),
            ("supabase", () => "sb" + "p_" + R(40, Hex)), ("pulumi", () => "pu" + "l-" + R(40, Hex)), ("terraform-cloud", () => R(14) + ".atlas" + "v1." + R(67)),
            ("heroku", () => "HR" + "KU-AA" + R(58, B64Url)), ("fly", () => "fo" + "1_" + R(43, B64Url)), ("dynatrace", () => "dt0c" + "01." + R(24, Upper + Digits) + "." + R(64, Upper + Digits)),
            ("new-relic", () => "NR" + "AK-" + R(27, Upper + Digits)), ("sentry", () => "sntry" + "u_" + R(64, Hex)), ("postman", () => "PM" + "AK-" + R(24, Hex) + "-" + R(34, Hex)),
            ("docker-hub", () => "dckr" + "_pat_" + R(27, B64Url)), ("age", () => "AGE-SECRET" + "-KEY-1" + R(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")),
            ("atlassian", () => "ATATT" + "3xFfGF0" + R(180, B64Url) + "=" + R(8, "0123456789ABCDEF")), ("hubspot", () => "pat-" + "na1-" + Uuid()),
            ("telegram", () => "7" + R(9, Digits) + ":AA" + R(33, B64Url)), ("mailchimp", () => R(32, Hex) + "-us" + "14"), ("mailgun", () => "ke" + "y-" + R(32, Hex)),
            ("rubygems", () => "rubygems" + "_" + R(48, Hex)), ("square", () => "sq0" + "csp-" + R(43, B64Url)), ("langsmith", () => "lsv2" + "_pt_" + R(32, Hex) + "_" + R(10, Hex)),
            ("replicate", () => "r8" + "_" + R(37)), ("perplexity", () => "pp" + "lx-" + R(48)), ("xai", () => "xa" + "i-" + R(80)), ("openrouter", () => "sk-or" + "-v1-" + R(64, Hex)),
            ("twilio", () => "S" + "K" + R(32, Hex)), ("jwt", () => "eyJhbGciOiJSUzI1NiJ9" + ".eyJ" + R(60, B64Url) + "." + R(43, B64Url)),
            ("azure-devops", () => R(76) + "AZ" + "DO" + R(4)), ("jfrog", () => "AK" + "Cp" + R(69)), ("contentful", () => "CF" + "PAT-" + R(43, B64Url)),
            ("buildkite", () => "bk" + "ua_" + R(40, Hex)), ("mapbox", () => "sk" + ".eyJ" + R(60, B64Url) + "." + R(22, B64Url)), ("bedrock", () => "AB" + "SK" + R(128, B64)),
            ("1password-secret-key", () => "A3-" + R(6, Upper + Digits) + "-" + R(6, Upper + Digits) + "-" + R(5, Upper + Digits) + "-" + R(5, Upper + Digits) + "-" + R(5, Upper + Digits) + "-" + R(5, Upper + Digits)),
            ("cloudflare-origin-ca", () => "v1.0-" + R(24, Hex) + "-" + R(146, Hex)), ("sonarqube", () => "sq" + "p_" + R(40, Hex)),
            ("slack-xoxe", () => "xo" + "xe-" + R(13, Digits) + "-" + R(13, Digits) + "-" + R(13, Digits) + "-" + R(64, Hex)),
        };
        var syntaxes = new (string File, Func<string, string> Line)[]
        {
            (".env", t => "SERVICE_CREDENTIAL=" + t),
            ("config.json", t => "  \"credential\": \"" + t + "\","),
            ("client.py", t => "client = connect(\"" + t + "\")"),
            ("settings.xml", t => "<setting name=\"upstream\" value=\"" + t + "\" />"),
        };

        var positives = new List<(string Kind, string File, string Text, int Line)>();
        foreach (var (kind, make) in tokens)
        {
            foreach (var (file, line) in syntaxes)
            {
                positives.Add((kind, file, "# header\n" + line(make()) + "\n", 2));
            }
        }

        // Shapes without a vendor prefix, each in its usual places.
        string Pw() => R(6, Lower) + R(3, Digits) + R(4, Upper) + "!" + R(3, Lower);
        positives.AddRange(
        [
            ("generic", "settings.yaml", "service:\n  client_secret: \"" + R(40) + "\"\n", 2),
            ("generic", "app.properties", "db.password=" + Pw() + "\n", 1),
            ("generic", "Config.java", "private static final String API_KEY = \"" + R(32) + "\";", 1),
            ("generic", "main.tf", "resource \"x\" \"y\" {\n  api_token = \"" + R(36) + "\"\n}", 2),
            ("generic", "Dockerfile", "FROM alpine\nENV SERVICE_TOKEN=" + R(30) + "\n", 2),
            ("generic", "deploy.ps1", "$Password = '" + Pw() + "'\n", 1),
            ("generic", "settings.toml", "[service]\nsecret_key = \"" + R(48, B64) + "\"\n", 2),
            ("generic-long", "creds.yaml", "token: " + R(400, B64Url) + "\n", 1),
            ("generic-underscore", "auth.py", "CLIENT_SECRET = \"" + R(9) + "_" + R(7) + "_" + R(8) + "\"", 1),
            ("generic-dotted", "app.yaml", "auth_token: " + R(12) + "." + R(14) + "." + R(10) + "\n", 1),
            ("generic-hex", "Settings.cs", "const string SigningKey = \"" + R(64, Hex) + "\";", 1),
            ("header", "call.sh", "curl -H \"apikey: " + R(40) + "\" https://api.internal.corp/v1", 1),
            ("header", "api.http", "GET https://api.internal.corp\nX-Acme-ApiKey: " + R(32) + "\n", 2),
            ("header", "client.sh", "curl -H 'Api-Token: " + R(36) + "' https://api.internal.corp", 1),
            ("authorization", "fetch.js", "headers: { Authorization: 'Bearer " + R(40, B64Url) + "' }", 1),
            ("curl-u", "deploy.sh", "curl -sS -u admin:" + Pw() + " https://ci.internal.corp/job", 1),
            ("curl-u", "Makefile", "up:\n\tcurl --user \"deploy:" + Pw() + "\" -T x https://files.internal.corp/\n", 2),
            ("url-password", ".env", "DATABASE_URL=postgres://app:" + Pw() + "@db.internal:5432/app", 1),
            ("url-password", "docs.md", "use https://deploy:" + R(20) + "@registry.example.com/v2/", 1),
            ("url-user", "package.json", "\"lib\": \"git+https://" + R(40, Hex) + ":x-oauth-basic@github.com/org/lib.git\"", 1),
            ("url-user", "requirements.txt", "git+https://" + R(32, B64Url) + "@gitlab.internal.corp/g/p.git#egg=p", 1),
            ("connection-string", "appsettings.json", "\"Db\": \"Server=db;Database=app;User Id=app;Password=" + Pw() + ";\"", 1),
            ("kubernetes", "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: " + Base64(Pw()) + "\n", 6),
            ("kubernetes", "dump.yaml", "apiVersion: v1\ndata:\n  url: " + Base64("redis://:" + Pw() + "@cache:6379") + "\nkind: Secret\n", 3),
            ("nuget", "NuGet.Config", "<add key=\"Username\" value=\"ci\" />\n<add key=\"ClearTextPassword\" value=\"" + Pw() + "\" />\n", 2),
            ("private-key", "key.pem", "-----BEGIN RSA PRIVATE KEY-----\n" + string.Join("\n", Enumerable.Range(0, 6).Select(_ => R(64, B64))) + "\n-----END RSA PRIVATE KEY-----\n", 2),
            ("encoded-base64", "values.yaml", "config: " + Base64("export GITHUB_TOKEN=" + "gh" + "p_" + Crc(R(30))) + "\n", 1),
            ("encoded-hex", "dump.txt", "blob=" + Convert.ToHexString(Encoding.UTF8.GetBytes("aws_access_key_id = " + "AK" + "IA" + R(16, Upper + "234567"))) + "\n", 1),
            ("encoded-gzip", "bundle.txt", "data: " + GzipBase64("STRIPE_KEY=" + "sk" + "_live_" + R(24)) + "\n", 1),
            ("docker-config", "config.json", "{\"auths\": {\"r.corp.io\": {\"auth\": \"" + Base64("ci:" + Pw()) + "\"}}}", 1),
            // Vendor keys without a prefix, behind the vendor's name; UUID-shaped API keys behind a name that says so.
            ("vendor-name", ".env", "SNYK_TOKEN=" + Uuid(), 1),
            ("vendor-name", "deploy.js", "const herokuApiKey = '" + Uuid() + "';", 1),
            ("vendor-name", "sync.py", "requests.get(\"https://api.hubapi.com/contacts/v1/lists/all?hapikey=" + Uuid() + "\")", 1),
            ("vendor-name", "sonar-project.properties", "sonar.projectKey=shop\nsonar.login=" + R(40, Hex) + "\n", 2),
            ("vendor-name", "app.properties", "sumologic.accessId = su" + R(12), 1),
            ("vendor-name", ".env", "FACEBOOK_APP_TOKEN=" + R(15, Digits) + "|" + R(27, B64Url), 1),
            ("vendor-name", "settings.json", "{\"sourcegraph.accessToken\": \"" + R(40, Hex) + "\"}", 1),
            ("api-key-uuid", "octopus.http", "GET https://octopus.internal.corp/api/projects\nX-Octopus-ApiKey: " + Uuid() + "\n", 2),
            ("api-key-uuid", "Config.java", "System.setProperty(\"service.api.key\", \"" + Uuid() + "\");", 1),
            ("bundler", ".bundle/config", "---\nBUNDLE_GEMS__CONTRIBSYS__COM: \"" + R(8, Hex) + ":" + R(8, Hex) + "\"\n", 2),
            ("bundler", "Dockerfile", "FROM ruby:3.3\nENV BUNDLE_RUBYGEMS__PKG__GITHUB__COM=ci-bot:" + Pw() + "\n", 2),
            ("terraform-password", "main.tf", "resource \"azurerm_mssql_server\" \"db\" {\n  administrator_login_password = \"Wintergarden7\"\n}\n", 2),
            ("terraform-password", "vault.hcl", "storage \"mysql\" {\n  password = \"bluewhale42\"\n}\n", 2),
            ("nuget", "nuget.config", "<add key=\"Username\" value=\"ci\" />\n<add key=\"Password\" value=\"" + R(120, B64) + "==\" />\n", 2),
            ("curl-u", "upload.sh", "curl -sS -T out.tgz https://files.internal.corp/ \\\n  -u ci:" + Pw() + "\n", 2),
            ("curl-u", "es.md", "curl -u \":" + Pw() + "\" https://localhost:9200", 1),
            ("curl-u", "patch.sh", "curl --user kevin:'" + Pw() + "' -X PATCH https://api.internal.corp/items/1", 1),
            ("curl-key-user", "charge.sh", "curl https://api.internal.corp/v1/charges -u " + R(32) + ": -d amount=100", 1),
            ("curl-header", "tasks.sh", "curl -XPOST https://tasks.internal.corp/api -H \"Token: " + R(16, Hex) + "\" -d x", 1),
            ("curl-header", "cluster.sh", "curl -L \\\n  -H 'Authorization: sha256~" + R(43, B64Url) + "' https://api.cluster.internal:6443/apis", 2),
            ("kubernetes", "before.yaml", "apiVersion: 'v1'\ndata:\n\textra: '" + Base64(Pw()) + "'\nkind: 'secret'\n", 3),
            ("kubernetes", "dockercfg.yaml", "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: |\n    " + Base64("{\"auths\":{\"r\":{\"auth\":\"" + Pw() + "\"}}}") + "\n", 6),
            ("generic-syntax", "Makefile", "SERVICE_SECRET ::= " + R(32) + "\n", 1),
            ("generic-syntax", "secrets.php", "<?php\n$dbPassword .= '" + R(24) + "';\n", 2),
            ("generic-syntax", "main.go", "var serviceToken string = \"" + R(32) + "\"\n", 1),
            ("generic-syntax", "Main.java", "System.setProperty(\"service.secret\", \"" + R(32) + "\");", 1),
            ("generic-syntax", "settings.json", "{\"config.ini\": \"SERVICE_TOKEN=" + R(32) + "\\nDEBUG=false\"}", 1),
        ]);

        // Negatives: the false-alarm kinds of peer corpora, and near misses of the formats.
        var negatives = new List<(string Kind, string File, string Text)>
        {
            ("nuget-attribute", "NuGet.Config", "<add key=\"ClearTextPassword\" value=\"%NUGET_PASSWORD%\" />"),
            ("credentials-id", "Jenkinsfile", "git credentialsId: 'github-deploy-credentials', url: repo"),
            ("credentials-id", "Jenkinsfile", "withCredentials([string(credentialsId: '" + Uuid() + "', variable: 'T')])"),
            ("alphabet", "base64.js", "var keyStr = \"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\";"),
            ("alphabet", "ids.py", "SECRET_CHARS = '0123456789abcdefghijklmnopqrstuvwxyz'"),
            ("public-token", "map.ts", "const publicToken = \"pt_" + R(40) + "\";"),
            ("public-token", "stripe.js", "const publishableKey = 'pk" + "_live_" + R(24) + "';"),
            ("url-no-password", ".env", "AUTH_URL=https://login.corp.internal/oauth2/authorize"),
            ("url-no-password", "config.yaml", "auth: ldap://ldap.corp.internal:389/dc=corp"),
            ("placeholder-creds", "docker-compose.yml", "  - DATABASE_URL=postgres://postgres:postgres@localhost:5432/app"),
            ("placeholder-creds", "docker-compose.yml", "  - AMQP_URL=amqp://guest:guest@localhost:5672/"),
            ("placeholder-creds", "config.yaml", "password: REPLACE_WITH_PASSWORD"),
            ("placeholder-creds", "config.yaml", "api_key: ENTER_YOUR_API_KEY_HERE"),
            ("placeholder", "README.md", "export OPENAI_API_KEY=" + "sk" + "-your-key-here"),
            ("placeholder", ".env.example", "STRIPE_SECRET=" + "sk" + "_live_xxxxxxxxxxxxxxxxxxxxxxxx"),
            ("placeholder", "values.yaml", "token: \"{{ .Values.apiToken }}\""),
            ("placeholder", "ci.yml", "password: ${{ secrets.DB_PASSWORD }}"),
            ("fake", "slack.md", "SLACK_TOKEN=" + "xo" + "xp-1234567890-1234567890-" + R(24)),
            ("fake", "stripe.md", "sk" + "_live_" + R(20) + "test"),
            ("truncated", "gh.md", "token: " + "gh" + "p_" + R(20) + "..."),
            ("fake-checksum", "gh.txt", "echo " + "gh" + "p_" + R(36)),
            ("truncated", "slack.md", "xo" + "xp-1234567890"),
            ("documented-example", "docs.md", "AWS_ACCESS_KEY_ID=" + "AKIA" + "IOSFODNN7EXAMPLE"),
            ("documented-example", "firebase.js", "  apiKey: \"" + "AI" + "zaSyDOCAbC123dEf456GhI789jKl01-MnO23" + "\","),
            ("documented-example", "docs.md", "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"),
            ("documented-example", "jwt.md", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
            ("identifier", "Code.cs", "var token = cancellationToken;"),
            ("identifier", "code.py", "token = self.tokenizer.encode(text)"),
            ("identifier", "code.ts", "const secret = config.auth.clientSecretRef;"),
            ("identifier", "App.cs", "var key = \"ReadTheVeryLongMethodName\";"),
            ("identifier", "code.go", "apiKey := os.Getenv(\"API_KEY\")"),
            ("identifier", "strings.cs", "public const string TokenHeader = \"X-Session-Token-Header\";"),
            ("identifier", "names.py", "password_field = \"user_password_confirmation\""),
            ("p12-by-name", "certs/client.p12", "placeholder: generated at build time"),
            ("public-key", "id_rsa.pub", "ssh-ed25519 " + R(68, B64) + " me@host"),
            ("public-key", "cert.pem", "-----BEGIN CERTIFICATE-----\n" + string.Join("\n", Enumerable.Range(0, 4).Select(_ => R(64, B64))) + "\n-----END CERTIFICATE-----"),
            ("ids", "ids.json", "{\"keyId\": \"" + R(32) + "\", \"tokenType\": \"Bearer\", \"secretName\": \"db-password\"}"),
            ("hashes", "lock.txt", "commit_sha = \"" + R(40, Hex) + "\""),
            ("hashes", "package-lock.json", "\"integrity\": \"sha512-" + R(86, B64) + "==\""),
            ("uuid", "config.yaml", "client_id: " + Uuid()),
            ("low-entropy", "config.yaml", "secret: \"" + new string('a', 40) + "\""),
            ("paths", "config.yaml", "key_file: /etc/ssl/private/server.key"),
            ("urls", "README.md", "See https://github.com/org/repo and https://user:password@example.com/x"),
            ("k8s-configmap", "cm.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n  LOG_LEVEL: debug"),
            ("k8s-template", "secret.yaml", "apiVersion: v1\nkind: Secret\nstringData:\n  password: ${DB_PASSWORD}"),
            ("curl-no-password", "curl.sh", "curl -u \"$USER:$TOKEN\" https://api.internal.corp"),
            ("url-user", "remotes.txt", "https://my-company-user@bitbucket.org/org/x.git"),
            ("base64-text", "readme.b64", Base64("This is a plain paragraph of documentation with nothing secret in it.")),
            ("prose", "docs.md", "Set the token in your environment; the key rotates every 90 days and the password policy needs 12 characters."),
            ("email", "contacts.yaml", "auth_contact: security-team@corp.internal"),
            ("version", "api.py", "api_version = \"2023-10-01-preview\""),
            ("placeholder-creds", "curl.sh", "curl -u <user:password> https://test.internal/x"),
            ("placeholder-creds", "curl.sh", "curl --user neo4j:[PASSWORD] http://[IP]:7474/db/data/"),
            ("placeholder-creds", "curl.sh", "curl --user \"xxx:yyy\" https://x.internal"),
            ("placeholder-creds", "curl.sh", "curl -X POST \\\n  -u \"${CI_USER}:${CI_PASS}\" https://x.internal"),
            ("placeholder", "curl.sh", "curl \\\n  -H \"Authorization: Bearer <your API token>\" https://x.internal"),
            ("redacted", "slack.md", "SLACK_TOKEN=" + "xo" + "xp-" + R(12, Digits) + "-" + R(12, Digits) + "-" + R(12, Digits) + "-####################"),
            ("documented-example", "FirebaseTest.java", ".setApiKey(\"AI" + "zaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU\")"),
            ("documented-example", "NuGet.Config", "<add key=\"ClearTextPassword\" value=\"33f!!lloppa\" />"),
            ("names", "names.json", "{\"key_vault_name\": \"kv" + R(14, Lower + Digits) + "\"}"),
            ("names", "Schema.ts", "schemaKey = 'Orders_Index_7_64'"),
            ("coordinates", "deps.txt", "notes = \"Maven - io.jsonwebtoken:jjwt-jackson-0.11.2\""),
            ("url-path", "urls.md", "https://team.notion.site/AP" + "I-" + R(32, "0123456789ABCDEF") + " and /video_box.ic" + "o-" + R(32, Hex) + ".png"),
            ("k8s-external-secret", "external.yaml", "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nspec:\n  data:\n    - secretKey: api-key\n      remoteRef:\n        key: my-secrets-manager-secret\n"),
            ("k8s-short", "short.yaml", "apiVersion: v1\nkind: secret\ndata:\n  extra: YmFyCg==\n"),
            ("bundler-groups", ".bundle/config", "BUNDLE_WITHOUT: \"development:test\""),
            ("terraform-var", "main.tf", "administrator_login_password = var.db_password\npassword = \"${random_password.db.result}\""),
            ("uuid", "ids.yaml", "api_key_id: " + Uuid() + "\nsnyk_org_id: " + Uuid()),
            ("uuid", "curl.sh", "curl -H \"Idempotency-Key: " + Uuid() + "\" https://api.internal.corp"),
        };

        output.WriteLine();
        output.WriteLine($"recall and false alarms on our corpus written from the formats: {positives.Count} true positives of {positives.Select(p => p.Kind).Distinct().Count()} kinds, {negatives.Count} negatives of {negatives.Select(n => n.Kind).Distinct().Count()} false-alarm kinds");
        output.WriteLine();
        output.WriteLine("| rules | recall | false alarms |");
        output.WriteLine("|---|---|---|");
        foreach (var (name, set, decode) in new[] { ("before (BENCH_BASE_RULES, no decoding)", before, 0), ("today's defaults, decoding on", rules, 2) })
        {
            if (set is null)
            {
                continue;
            }

            var missed = positives.Where(p => !Scan(set, decode, p.File, p.Text).Any(f => f.Line == p.Line)).ToList();
            var alarms = negatives.Where(n => Scan(set, decode, n.File, n.Text).Count > 0).ToList();
            output.WriteLine($"| {name} | {positives.Count - missed.Count}/{positives.Count} = {(double)(positives.Count - missed.Count) / positives.Count:P1} | {alarms.Count}/{negatives.Count} = {(double)alarms.Count / negatives.Count:P1} |");
            if (Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
            {
                foreach (var miss in missed)
                {
                    output.WriteLine($"    missed: {miss.Kind} in {miss.File}: {miss.Text.ReplaceLineEndings("\\n")}");
                }

                foreach (var alarm in alarms)
                {
                    output.WriteLine($"    false alarm: {alarm.Kind} in {alarm.File}: {string.Join(", ", Scan(set, decode, alarm.File, alarm.Text).Select(f => f.RuleId))}");
                }
            }
        }
    }

    private static List<SecretFinding> Scan(SecretRules rules, int decode, string file, string text)
    {
        var findings = new List<SecretFinding>();
        var engine = new SecretEngine(rules, new ScanPolicy { DecodeDepth = decode });
        if (engine.Scan(new ScanFragment { File = file, Text = text }, findings) == 0)
        {
            engine.ScanFileName(file, null, text.Contains('\0', StringComparison.Ordinal), () => "0", findings);
        }

        return findings;
    }
}
