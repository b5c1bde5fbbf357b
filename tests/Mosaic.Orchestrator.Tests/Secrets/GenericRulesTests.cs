using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>
/// The generic rules and the credential shapes without a vendor prefix (curl -u, URL user parts, API-key headers,
/// Kubernetes Secrets, NuGet.Config), and the false-alarm kinds that peer scanners' corpora show as negatives.
/// </summary>
public sealed class GenericRulesTests
{
    private static string Uuid(string label) =>
        $"{Random(label + "a", 8, Hex)}-{Random(label + "b", 4, Hex)}-{Random(label + "c", 4, Hex)}-{Random(label + "d", 4, Hex)}-{Random(label + "e", 12, Hex)}";

    public static TheoryData<string, string, string> Positives() => new()
    {
        // rule, file, content
        { "generic-secret", "settings.yaml", "service:\n  token: \"" + Random("long-token", 300, Base64Url) + "\"\n" },
        { "generic-secret", "App.config", "<add key=\"ServiceSecret\" value=\"x\" />\nsecret = \"" + Random("long2", 160) + "\";" },
        { "generic-secret", "auth.py", "CLIENT_SECRET = \"" + Random("us1", 9) + "_" + Random("us2", 7) + "_" + Random("us3", 8) + "\"" },
        { "generic-secret", "app.yaml", "auth_token: " + Random("dot1", 12) + "." + Random("dot2", 14) + "." + Random("dot3", 10) + "\n" },
        { "curl-credential", "call.sh", "curl -H \"apikey: " + Random("apikey-h", 40) + "\" https://api.internal.corp/v1" },
        { "generic-secret", "api.http", "GET https://api.internal.corp/items\nX-Acme-ApiKey: " + Random("x-apikey", 32) + "\n" },
        { "curl-credential", "client.sh", "curl -H 'Api-Token: " + Random("api-token-h", 36) + "' https://api.internal.corp/v2/data" },
        { "authorization-header", "call.js", "fetch(url, { headers: { Authorization: 'ApiKey " + Random("auth-apikey", 40, Base64Url) + "' } });" },
        { "url-token-user", "package.json", "{\"dependencies\": {\"lib\": \"git+https://" + Random("git-user", 40, Hex) + ":x-oauth-basic@github.com/org/lib.git\"}}" },
        { "url-token-user", "requirements.txt", "git+https://" + Random("git-user2", 32, Base64Url) + "@gitlab.internal.corp/group/pkg.git#egg=pkg\n" },
        { "url-token-user", ".gitmodules", "[submodule \"x\"]\n\turl = https://" + Random("git-user3", 36) + "@git.internal.corp/org/x.git\n" },
        { "url-password", "docs/setup.md", "Connect with `https://deploy:" + Random("ex-host", 20) + "@registry.example.com/v2/`" },
        { "curl-credential", "deploy.sh", "curl -sS -u admin:" + Password("curl") + " https://ci.internal.corp/job/build" },
        { "curl-credential", "Makefile", "upload:\n\tcurl --user \"deploy:" + Password("curl-mk") + "\" -T out.tgz https://files.internal.corp/\n" },
        { "curl-credential", "README.md", "```\ncurl -X POST --user=svc-bot:" + Password("curl-md") + " https://api.internal.corp/hooks\n```" },
        { "kubernetes-secret", "k8s/db.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Password("k8s"))) + "\n  host: ZGIuaW50ZXJuYWw=\n" },
        { "kubernetes-secret", "dump.yaml", "apiVersion: v1\ndata:\n  db-url: " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("postgres://app:" + Password("k8s2") + "@db/app")) + "\nkind: Secret\nmetadata:\n  name: app\n" },
        { "kubernetes-secret", "chart/secret.yml", "kind: Secret\napiVersion: v1\nmetadata:\n  name: api\nstringData:\n  # the partner's key\n  partner: \"" + Password("k8s3") + "\"\n" },
        { "curl-credential", "install.sh", "curl -fsSL https://files.internal.corp/pkg.tgz \\\n  -o pkg.tgz \\\n  -u deploy:" + Password("curl-cont") + "\n" },
        { "curl-credential", "es.md", "curl -u \":" + Password("curl-empty-user") + "\" https://localhost:9200" },
        { "curl-credential", "patch.sh", "curl --user kevin:'" + Password("curl-quoted") + "' -iX PATCH https://api.internal.corp/items/1" },
        { "curl-credential", "watson.sh", "curl -X POST --user \"{" + Uuid("watson-user") + "}\":\"{" + Random("watson-pw", 14) + "}\" https://gateway.internal.corp/api" },
        { "curl-credential", "charge.sh", "curl https://api.internal.corp/v1/charges \\\n  -u " + Random("api-key-user", 32) + ": \\\n  -d amount=100" },
        { "curl-credential", "docs.md", "curl -s --user '" + Random("api-key-user2", 24) + ":' https://api.internal.corp/v3/messages" },
        { "curl-credential", "tasks.sh", "curl -XPOST https://tasks.internal.corp/api -H \"Content-Type: text/plain\" -H \"Token: " + Random("token-hdr", 16, Hex) + "\" -d x" },
        { "curl-credential", "cluster.md", "curl -L \\\n  --header 'Authorization: sha256~" + Random("sha256-token", 43, Base64Url) + "' https://api.cluster.internal:6443/apis" },
        { "kubernetes-secret", "before.yaml", "apiVersion: 'v1'\ndata:\n\textra: '" + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Password("k8s-quoted"))) + "'\nkind: 'secret'\nmetadata:\n\tname: 'sa'\n" },
        { "kubernetes-secret", "dockercfg.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: |\n    " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("{\"auths\":{\"r.corp\":{\"auth\":\"" + Password("k8s-block") + "\"}}}")) + "\n" },
        { "kubernetes-secret", "folded.yaml", "apiVersion: v1\ndata:\n  tls.key: >\n    " + Random("k8s-folded", 64, Base64) + "\nmetadata:\n  name: tls\nkind: Secret" },
        { "bundler-credential", ".env", "export BUNDLE_GEMS__CONTRIBSYS__COM=" + Random("bundle-user", 8, Hex) + ":" + Random("bundle-pw", 8, Hex) + " && bundle install" },
        { "bundler-credential", ".bundle/config", "---\nBUNDLE_PATH: \"vendor/bundle\"\nBUNDLE_ENTERPRISE__CONTRIBSYS__COM: \"ci:" + Password("bundle-yaml") + "\"\n" },
        { "bundler-credential", "Dockerfile", "FROM ruby:3.3\nENV BUNDLE_RUBYGEMS__PKG__GITHUB__COM=ci-bot:" + Password("bundle-docker") + "\n" },
        { "terraform-password", "main.tf", "resource \"azurerm_mssql_server\" \"db\" {\n  administrator_login          = \"dbadmin\"\n  administrator_login_password = \"Wintergarden7\"\n}\n" },
        { "terraform-password", "vault.hcl", "storage \"mysql\" {\n  username = \"vault\"\n  password       = \"bluewhale42\"\n}\n" },
        { "nuget-config-password", "nuget.config", "<packageSourceCredentials>\n  <feed>\n    <add key=\"Username\" value=\"build\" />\n    <add key=\"Password\" value=\"" + Random("nuget-encrypted", 120, Base64) + "==\" />\n  </feed>\n</packageSourceCredentials>\n" },
        { "generic-secret", "Makefile", "SERVICE_SECRET ::= " + Random("make-secret", 32) + "\n" },
        { "generic-secret", "secrets.php", "<?php\n$dbPassword .= '" + Random("php-concat", 24) + "';\n" },
        { "generic-secret", "main.go", "var serviceToken string = \"" + Random("go-typed", 32) + "\"\n" },
        { "generic-secret", "Main.java", "System.setProperty(\"service.secret\", \"" + Random("java-set", 32) + "\");" },
        { "generic-secret", "settings.json", "{\"config.ini\": \"SERVICE_TOKEN=" + Random("json-env", 32) + "\\nDEBUG=false\"}" },
        { "nuget-config-password", "NuGet.Config", "<configuration>\n  <packageSourceCredentials>\n    <feed>\n      <add key=\"Username\" value=\"build\" />\n      <add key=\"ClearTextPassword\" value=\"" + Password("nuget-cfg") + "\" />\n    </feed>\n  </packageSourceCredentials>\n</configuration>\n" },
    };

    [Theory]
    [MemberData(nameof(Positives))]
    public void Each_shape_is_found(string rule, string file, string text)
    {
        var findings = DefaultRulesTests.Scan(file, text);
        Assert.True(findings.Count == 1 && findings[0].RuleId == rule, $"expected one {rule} finding, got: {string.Join(", ", findings.Select(f => $"{f.RuleId} line {f.Line} {f.Preview}"))}");
    }

    public static TheoryData<string, string> FalseAlarms() => new()
    {
        // file, content: the false-alarm kinds of the peer corpora; none is a secret
        { "NuGet.Config", "<add key=\"Username\" value=\"build\" />\n<add key=\"ClearTextPassword\" value=\"%NUGET_PASSWORD%\" />" },
        { "Jenkinsfile", "withCredentials([usernamePassword(credentialsId: 'github-deploy-credentials', usernameVariable: 'U')]) {}\ngit credentialsId: \"" + Uuid("jenkins") + "\", url: repo" },
        { "base64.js", "var keyStr = \"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\";" },
        { "hex.py", "HEX_KEY_ALPHABET = '0123456789abcdef'\nsecret_alphabet = \"0123456789ABCDEFGHJKMNPQRSTVWXYZ\"" },
        { "map.ts", "const publicToken = \"pt_" + Random("public-token", 40) + "\";\nmapbox.publishableKey = '" + Random("pub-key", 32) + "';" },
        { "auth.env.yaml", "AUTH_URL: ldap://ldap.corp.internal:389/dc=corp,dc=internal\nauth: \"wss://stream.internal.corp/auth\"\nAUTH_ENDPOINT = \"https://login.microsoftonline.com/common/oauth2/v2.0/token\"" },
        { "docker-compose.yml", "environment:\n  - DATABASE_URL=postgres://postgres:postgres@localhost:5432/app\n  - AMQP_URL=amqp://guest:guest@localhost:5672/\n  - REDIS_URL=redis://root:root@127.0.0.1:6379" },
        { "config.yaml", "password: REPLACE_WITH_PASSWORD\napi_key: ENTER_YOUR_API_KEY\ntoken: insert-your-token-in-here" },
        { "slack.md", "SLACK_TOKEN=" + "xo" + "xp-1234567890-1234567890-" + Random("xoxp", 24) },
        { "stripe.md", "STRIPE_KEY=" + "sk" + "_live_" + Random("stripe-test", 20) + "test" },
        { "code.py", "token = self.tokenizer.encode(text)\nsecret: settings.v1Client.secretRef\nkey = \"ReadTheVeryLongMethodName\"" },
        { "low.yaml", "secret: \"" + new string('a', 80) + "\"\ntoken: \"" + string.Concat(Enumerable.Repeat("ab", 60)) + "\"" },
        { "configmap.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  FEATURE_FLAGS: " + Random("cm", 30) + "\n" },
        { "secret-template.yaml", "apiVersion: v1\nkind: Secret\nstringData:\n  password: ${DB_PASSWORD}\n  token: \"{{ .Values.token }}\"\n" },
        { "curl.sh", "curl -u \"$USER:$TOKEN\" https://api.internal.corp\ncurl -u admin: https://api.internal.corp\ncurl --user user:password https://api.internal.corp" },
        { "remotes.txt", "https://my-company-user@bitbucket.org/org/x.git\nssh://git@github.com/org/x.git\nhttps://" + Random("short-user", 12) + "@git.internal.corp/x.git" },
        { "ids.json", "{\"tokenId\": \"" + Random("tok-id", 32) + "\", \"secretName\": \"" + Random("sec-name", 24) + "\", \"apiKeyHeader\": \"X-" + Random("hdr", 20, Letters) + "\", \"authProvider\": \"" + Random("prov", 24) + "\"}" },
        { "firebase.js", "const firebaseConfig = {\n  apiKey: \"" + "AI" + "zaSyDOCAbC123dEf456GhI789jKl01-MnO23" + "\",\n  authDomain: \"project-id.firebaseapp.com\"\n};" },
        { "elided.md", "token: " + "gh" + "p_" + Random("elided", 20) + "...\napi_key: " + Random("elided2", 24) + "\u2026" },
        { "contacts.yaml", "auth_contact: security-team@corp.example-internal.io\npassword_reset_email: helpdesk@corp.internal" },
        // Placeholders and templates given to curl, on one line or continued.
        { "curl2.sh", "curl -u <user:password> https://test.internal/x\ncurl --user neo4j:[PASSWORD] http://[IP]:7474/db/data/\ncurl --user \"xxx:yyy\" https://x.internal\ncurl -X POST \\\n  -u \"${CI_USER}:${CI_PASS}\" https://x.internal\ncurl --user \"{username}\":\"{password}\" https://x.internal\ncurl -u \"myusername\" https://x.internal" },
        { "curl3.sh", "curl -H \"Authorization: Bearer $API_KEY\" https://x.internal\ncurl -H 'Authorization: Token **********' https://x.internal\ncurl -H \"Idempotency-Key: " + Uuid("idem-curl") + "\" https://x.internal\ncurl \\\n  -H \"Authorization: Bearer <your API token>\" https://x.internal\ncurl -H \"X-Request-Id: " + Random("req-id", 24) + "\" https://x.internal" },
        // Kubernetes: a value too short to be a credential, an ExternalSecret's data list, a Secret then another document.
        { "short.yaml", "apiVersion: v1\nkind: secret\ndata:\n  extra: YmFyCg==\n" },
        { "external.yaml", "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nspec:\n  secretStoreRef:\n    kind: SecretStore\n  data:\n    - secretKey: api-key\n      remoteRef:\n        key: my-secrets-manager-secret\n" },
        { "two-docs.yaml", "kind: Secret\nmetadata:\n  name: x\n---\nkind: ConfigMap\ndata:\n  mode: " + Random("cm-mode", 24) + "\n" },
        { ".bundle/config", "BUNDLE_WITHOUT: \"development:test\"\nBUNDLE_BUILD__PG: \"--with-pg-config=/usr/bin/pg_config\"\nBUNDLE_GEMS__CONTRIBSYS__COM: \"${SIDEKIQ_CREDENTIALS}\"" },
        { "main.tf", "administrator_login_password = var.db_password\npassword = \"${random_password.db.result}\"\npassword = \"short\"\npassword = \"password\"" },
        { "app.js", "password = \"Wintergarden7\"" },
        { "NuGet.Config", "<add key=\"ClearTextPassword\" value=\"abc\" />\n<add key=\"ClearTextPassword\" value=\"33f!!lloppa\" />\n<add key=\"ClearTextPassword\" value=\"hal+9ooo_da!sY\" />" },
        // Names that name things, values that are names or coordinates, redacted values.
        { "names.json", "{\"key_vault_name\": \"kv" + Random("kv-name", 14, Lower + Digits) + "\",\n\"secret_store_id\": \"" + Random("store-id", 24) + "\"}" },
        { "Schema.ts", "schemaKey = 'Orders_Index_7_64'\nkeyVaultToStoreSecrets: cmp2-qat-1208358310\nconst OID_KeyWrap_Gost = \"id-Gost28147-89-CryptoPro-KeyWrap\"" },
        { "deps.txt", "notes = \"Gradle - com.auth0:java-jwt-4.4.0\"\nimport = \"io.jsonwebtoken:jjwt-jackson-0.11.2\"" },
        { "redacted.md", "SLACK_TOKEN=" + "xo" + "xp-" + Random("red1", 12, Digits) + "-" + Random("red2", 12, Digits) + "-" + Random("red3", 12, Digits) + "-####################\n\"token\": \"sk_live_****************\"" },
        { "urls.md", "see http://cdn.internal.corp/video_box.ic" + "o-" + Random("ico-path", 32, Hex) + ".png and https://team.notion.site/AP" + "I-" + Random("notion", 32, "0123456789ABCDEF") },
        { "FirebaseTest.java", ".setApiKey(\"AI" + "zaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU\")\n.setApiKey(\"AI" + "zaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM\")" },
        { "templates.yaml", "token: \"{apiKey}\"\nsecret: \"{API_SECRET_2}\"\npassword: \"{base64(user:password)}\"" },
    };

    [Theory]
    [MemberData(nameof(FalseAlarms))]
    public void False_alarm_kinds_are_not_reported(string file, string text)
    {
        var findings = DefaultRulesTests.Scan(file, text);
        Assert.True(findings.Count == 0, $"unexpected: {string.Join(", ", findings.Select(f => $"{f.RuleId} line {f.Line} {f.Preview}"))}");
    }
}
