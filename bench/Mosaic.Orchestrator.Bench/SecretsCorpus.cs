using System.Text;

namespace Mosaic.Orchestrator.Bench;

/// <summary>A secret planted in the corpus: where it is, and which kind.</summary>
internal sealed record PlantedSecret(string File, int Line, int LineCount, string Kind)
{
    /// <summary>Whether a finding at this file and line reports this secret (a multi-line key is found on any of its lines).</summary>
    public bool IsAt(string file, int line) => file == File && line >= Line && line < Line + LineCount;
}

/// <summary>
/// A deterministic tree of ordinary source files (C#, Python, TypeScript, Go, shell, YAML, JSON, Markdown) built from
/// line templates, with secrets of many kinds planted at known lines. The same arguments always give the same bytes.
/// Templates carry the words that make a scanner look closer (token, key, auth, password, URLs...) at about the rate
/// real code has them, so the keyword prefilter is not flattered. With a source folder, its text files are the
/// ordinary content instead (cycled until the size is reached), and the secrets are planted into copies of them.
/// </summary>
internal sealed class SecretsCorpus
{
    private static readonly string[] Nouns = ["order", "customer", "invoice", "payment", "session", "user", "account", "report", "item", "cart", "shipment", "ticket", "message", "queue", "worker", "project", "build", "release", "task", "policy"];
    private static readonly string[] Verbs = ["get", "load", "save", "update", "create", "delete", "find", "validate", "render", "publish", "refresh", "parse", "apply", "merge", "resolve"];
    private static readonly string[] Words = ["the", "value", "is", "cached", "until", "expiry", "when", "retry", "returns", "null", "for", "missing", "entries", "and", "logs", "a", "warning", "if", "the", "lease", "expired", "request", "times", "out", "after", "seconds", "batch", "size", "limit", "of", "each", "call", "to", "this", "method", "in", "order", "with", "an", "error"];

    private readonly Random _random;
    private readonly List<PlantedSecret> _planted = [];

    private SecretsCorpus(int seed) => _random = new Random(seed);

    public IReadOnlyList<PlantedSecret> Planted => _planted;

    public long Bytes { get; private set; }

    public int Files { get; private set; }

    /// <summary>Writes about <paramref name="megabytes"/> MB under <paramref name="root"/> with <paramref name="secrets"/> planted.</summary>
    public static SecretsCorpus Generate(string root, int megabytes, int secrets, string? sourceFolder = null)
    {
        var corpus = new SecretsCorpus(20261127);
        var target = megabytes * 1_000_000L;
        var sources = sourceFolder is null ? null : TextFiles(sourceFolder);
        var files = new List<(string Path, List<string> Lines)>();
        var index = 0;
        while (corpus.Bytes < target)
        {
            var (name, lines) = sources is null ? corpus.GeneratedFile(index) : CopiedFile(sources, index);
            files.Add((name, lines));
            corpus.Bytes += lines.Sum(l => Encoding.UTF8.GetByteCount(l) + 1);
            index++;
        }

        // Spread the secrets over the files, each at a line of its file, in the syntax of that file.
        var step = Math.Max(1, files.Count / Math.Max(1, secrets));
        for (var s = 0; s < secrets; s++)
        {
            var (name, lines) = files[(s * step + corpus._random.Next(step)) % files.Count];
            var kind = PlantKinds[s % PlantKinds.Length];
            var line = corpus._random.Next(lines.Count + 1);
            var plant = corpus.Plant(kind, s).Split('\n');
            lines.InsertRange(line, plant);
            // Secrets planted earlier further down this file move down.
            for (var p = 0; p < corpus._planted.Count; p++)
            {
                if (corpus._planted[p].File == name && corpus._planted[p].Line > line)
                {
                    corpus._planted[p] = corpus._planted[p] with { Line = corpus._planted[p].Line + plant.Length };
                }
            }

            corpus._planted.Add(new PlantedSecret(name, line + 1, plant.Length, kind));
        }

        foreach (var (name, lines) in files)
        {
            var path = Path.Combine(root, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, string.Join('\n', lines) + "\n");
        }

        corpus.Files = files.Count;
        corpus.Bytes = files.Sum(f => new FileInfo(Path.Combine(root, f.Path)).Length);
        return corpus;
    }

    /// <summary>The kinds planted, in turn; every one is something a leak really looks like.</summary>
    public static readonly string[] PlantKinds =
    [
        "aws-access-key-id", "aws-secret-access-key", "github-pat", "github-fine-grained-pat", "gitlab-pat", "slack-token",
        "slack-webhook", "stripe-key", "google-api-key", "openai-api-key", "anthropic-api-key", "azure-storage-connection",
        "twilio-api-key", "sendgrid-api-key", "npm-access-token", "pypi-token", "nuget-api-key", "rsa-private-key",
        "openssh-private-key", "ec-private-key", "jwt", "url-password", "connection-string-password", "generic-secret", "gcp-service-account",
    ];

    /// <summary>30 random characters and their CRC32 in base62: issued GitHub and npm tokens carry it, and the rules check it.</summary>
    internal static string Checksummed(string random) =>
        random + Mosaic.Orchestrator.Secrets.TokenChecksums.Encode(Mosaic.Orchestrator.Secrets.TokenChecksums.Crc32(random));

    private string Plant(string kind, int n)
    {
        string R(int length, string alphabet = Alnum) => RandomString(length, alphabet);
        return kind switch
        {
            "aws-access-key-id" => $"AWS_ACCESS_KEY_ID={"AK" + "IA"}{R(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}",
            "aws-secret-access-key" => $"aws_secret_access_key = {R(40, Alnum + "+/")}",
            "github-pat" => $"    token = \"{"gh" + "p_"}{Checksummed(R(30))}\"",
            "github-fine-grained-pat" => $"export GH_TOKEN={"github" + "_pat_"}{R(22)}_{R(59)}",
            "gitlab-pat" => $"  GITLAB_TOKEN: {"gl" + "pat-"}{R(20)}",
            "slack-token" => $"const slack = new WebClient('{"xo" + "xb-"}{R(12, Digits)}-{R(13, Digits)}-{R(24)}');",
            "slack-webhook" => $"SLACK_WEBHOOK=https://hooks.{"slack" + ".com"}/services/T{R(10, Upper + Digits)}/B{R(10, Upper + Digits)}/{R(24)}",
            "stripe-key" => $"Stripe.api_key = \"{"sk" + "_live_"}{R(24)}\"",
            "google-api-key" => $"  \"mapsKey\": \"{"AI" + "za"}{R(35, Alnum + "-_")}\",",
            "openai-api-key" => $"client = OpenAI(api_key=\"{"sk" + "-proj-"}{R(40, Alnum + "-_")}{"T3Blbk" + "FJ"}{R(40, Alnum + "-_")}\")",
            "anthropic-api-key" => $"ANTHROPIC_API_KEY={"sk" + "-ant-api03-"}{R(93, Alnum + "-_")}AA",
            "azure-storage-connection" => $"  \"Storage\": \"DefaultEndpointsProtocol=https;AccountName=acct{n};AccountKey={R(86, Alnum + "+/")}==;EndpointSuffix=core.windows.net\",",
            "twilio-api-key" => $"TWILIO_API_KEY={"S" + "K"}{R(32, "0123456789abcdef")}",
            "sendgrid-api-key" => $"var sendGrid = new SendGridClient(\"{"S" + "G."}{R(22, Alnum + "-_")}.{R(43, Alnum + "-_")}\");",
            "npm-access-token" => $"//registry.npmjs.org/:_authToken={"np" + "m_"}{Checksummed(R(30))}",
            "pypi-token" => $"password = {"py" + "pi-"}AgEIcHlwaS5vcmc{R(70, Alnum + "-_")}",
            "nuget-api-key" => $"dotnet nuget push out/*.nupkg --api-key {"oy" + "2"}{R(43, Lower + Digits)} --source nuget.org",
            "rsa-private-key" => Pem("RSA PRIVATE KEY"),
            "openssh-private-key" => Pem("OPENSSH PRIVATE KEY"),
            "ec-private-key" => Pem("EC PRIVATE KEY"),
            "jwt" => $"  session: {Jwt()}",
            "url-password" => $"DATABASE_URL=postgres://app:{R(20)}@db{n}.internal:5432/app",
            "connection-string-password" => $"  \"Default\": \"Server=db{n};Database=app;User Id=app;Password={R(18)};\",",
            "generic-secret" => $"CLIENT_SECRET = \"{R(32)}\"",
            "gcp-service-account" => $"{{\"type\": \"service_account\", \"project_id\": \"p{n}\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{string.Join("\\n", Enumerable.Range(0, 4).Select(_ => R(64, Alnum + "+/")))}\\n-----END PRIVATE KEY-----\\n\", \"client_email\": \"bot@p{n}.iam.gserviceaccount.com\"}}",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        // Bodies as real keys begin (DER for RSA and EC, the openssh-key-v1 magic), so no scanner can fairly skip them.
        string Pem(string type)
        {
            byte[] head = type switch
            {
                "RSA PRIVATE KEY" => [0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00],
                "EC PRIVATE KEY" => [0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20],
                _ => Encoding.ASCII.GetBytes("openssh-key-v1\0"),
            };
            var body = new byte[head.Length + 300];
            _random.NextBytes(body);
            head.CopyTo(body, 0);
            var base64 = Convert.ToBase64String(body);
            var lines = Enumerable.Range(0, (base64.Length + 63) / 64).Select(i => base64.Substring(i * 64, Math.Min(64, base64.Length - i * 64)));
            return $"-----BEGIN {type}-----\n{string.Join('\n', lines)}\n-----END {type}-----";
        }

        string Jwt()
        {
            static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            return B64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + B64($"{{\"sub\":\"u{n}\",\"iat\":17000{n:D5}}}") + "." + R(43, Alnum + "-_");
        }
    }

    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Digits = "0123456789";
    private const string Alnum = Upper + Lower + Digits;

    private string RandomString(int length, string alphabet)
    {
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(alphabet[_random.Next(alphabet.Length)]);
        }

        return text.ToString();
    }

    private string Pick(string[] values) => values[_random.Next(values.Length)];

    private static string Pascal(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private string Sentence(int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => Pick(Words)));

    private (string Name, List<string> Lines) GeneratedFile(int index)
    {
        var kind = index % 8;
        var folder = $"src/{Pick(Nouns)}s-{index % 40:D2}";
        var noun = Pick(Nouns);
        var lines = new List<string>();
        var size = 25_000 + _random.Next(30_000);
        var length = 0;
        string name;
        Func<List<string>> block;
        switch (kind)
        {
            case 0:
                name = $"{folder}/{Pascal(noun)}Service{index}.cs";
                lines.AddRange(["using System.Collections.Generic;", "using Microsoft.Extensions.Logging;", "", $"namespace Acme.{Pascal(noun)}s;", "", $"public sealed class {Pascal(noun)}Service{index}(I{Pascal(noun)}Repository repository, ILogger<{Pascal(noun)}Service{index}> logger)", "{"]);
                block = CSharpMethod;
                break;
            case 1:
                name = $"{folder}/{noun}_handlers_{index}.py";
                lines.AddRange(["import logging", "import os", "from dataclasses import dataclass", "", "log = logging.getLogger(__name__)", ""]);
                block = PythonFunction;
                break;
            case 2:
                name = $"{folder}/{noun}Client{index}.ts";
                lines.AddRange(["import { HttpClient } from './http';", "import type { Options } from './options';", ""]);
                block = TypeScriptFunction;
                break;
            case 3:
                name = $"{folder}/{noun}_store_{index}.go";
                lines.AddRange([$"package {noun}s", "", "import (", "\t\"context\"", "\t\"fmt\"", ")", ""]);
                block = GoFunction;
                break;
            case 4:
                name = $"deploy/{noun}-{index}.yaml";
                block = YamlBlock;
                break;
            case 5:
                name = $"config/{noun}-{index}.json";
                lines.Add("{");
                block = JsonBlock;
                break;
            case 6:
                name = $"scripts/{Pick(Verbs)}-{noun}-{index}.sh";
                lines.AddRange(["#!/usr/bin/env bash", "set -euo pipefail", ""]);
                block = ShellBlock;
                break;
            default:
                name = $"docs/{noun}-{index}.md";
                lines.Add($"# {Pascal(noun)} {index}");
                block = MarkdownBlock;
                break;
        }

        while (length < size)
        {
            foreach (var line in block())
            {
                lines.Add(line);
                length += line.Length + 1;
            }
        }

        lines.Add(kind switch { 0 => "}", 5 => "  \"end\": true\n}", _ => "" });
        return (name, lines);
    }

    private List<string> CSharpMethod()
    {
        var noun = Pascal(Pick(Nouns));
        var verb = Pascal(Pick(Verbs));
        var cancel = _random.Next(3) == 0 ? "cancellationToken" : "ct";
        return
        [
            $"    /// <summary>{Pascal(Sentence(8))}.</summary>",
            $"    public async Task<{noun}?> {verb}{noun}Async(string id, int limit, CancellationToken {cancel})",
            "    {",
            $"        var {noun.ToLowerInvariant()} = await repository.FindAsync(id, {cancel});",
            $"        if ({noun.ToLowerInvariant()} is null)",
            "        {",
            $"            logger.LogWarning(\"{noun} {{Id}} not found\", id);",
            "            return null;",
            "        }",
            "",
            $"        var items = new Dictionary<string, {noun}Item>(StringComparer.Ordinal);",
            $"        foreach (var item in {noun.ToLowerInvariant()}.Items.Take(limit))",
            "        {",
            "            items[item.Id] = item;",
            "        }",
            "",
            $"        return {noun.ToLowerInvariant()} with {{ Count = items.Count, UpdatedAt = DateTimeOffset.UtcNow }};",
            "    }",
            "",
        ];
    }

    private List<string> PythonFunction()
    {
        var noun = Pick(Nouns);
        var verb = Pick(Verbs);
        return
        [
            "",
            $"def {verb}_{noun}(client, {noun}_id: str, *, timeout: float = {_random.Next(1, 60)}.0) -> dict:",
            $"    \"\"\"{Pascal(Sentence(10))}.\"\"\"",
            $"    response = client.get(f\"/api/v1/{noun}s/{{{noun}_id}}\", timeout=timeout)",
            "    if response.status_code == 404:",
            $"        log.warning(\"{noun} %s not found\", {noun}_id)",
            "        return {}",
            "    data = response.json()",
            $"    for key, value in data.get(\"{noun}s\", {{}}).items():",
            "        data[key] = normalize(value)",
            "    return data",
            "",
        ];
    }

    private List<string> TypeScriptFunction()
    {
        var noun = Pick(Nouns);
        var verb = Pick(Verbs);
        return
        [
            $"export async function {verb}{Pascal(noun)}(http: HttpClient, id: string, options: Options = {{}}): Promise<{Pascal(noun)} | undefined> {{",
            $"  // {Sentence(9)}",
            $"  const response = await http.get(`/api/{noun}s/${{encodeURIComponent(id)}}`, {{ signal: options.signal }});",
            "  if (!response.ok) {",
            $"    console.warn(`{noun} ${{id}}: ${{response.status}}`);",
            "    return undefined;",
            "  }",
            $"  const body = (await response.json()) as {Pascal(noun)};",
            "  return { ...body, fetchedAt: Date.now() };",
            "}",
            "",
        ];
    }

    private List<string> GoFunction()
    {
        var noun = Pascal(Pick(Nouns));
        var verb = Pascal(Pick(Verbs));
        return
        [
            $"// {verb}{noun} {Sentence(8)}.",
            $"func (s *Store) {verb}{noun}(ctx context.Context, id string) (*{noun}, error) {{",
            $"\trow := s.db.QueryRowContext(ctx, \"SELECT id, name, updated_at FROM {noun.ToLowerInvariant()}s WHERE id = $1\", id)",
            $"\tvar out {noun}",
            "\tif err := row.Scan(&out.ID, &out.Name, &out.UpdatedAt); err != nil {",
            $"\t\treturn nil, fmt.Errorf(\"{verb.ToLowerInvariant()} {noun.ToLowerInvariant()} %s: %w\", id, err)",
            "\t}",
            "\treturn &out, nil",
            "}",
            "",
        ];
    }

    private List<string> YamlBlock()
    {
        var noun = Pick(Nouns);
        List<string> block =
        [
            $"- name: {noun}-{_random.Next(1000)}",
            $"  image: registry.internal.corp/{noun}:{_random.Next(1, 9)}.{_random.Next(20)}.{_random.Next(50)}",
            "  env:",
            $"    - name: {noun.ToUpperInvariant()}_URL",
            $"      value: http://{noun}.{noun}-ns.svc.cluster.local/api",
            $"    - name: {noun.ToUpperInvariant()}_BATCH_SIZE",
            $"      value: \"{_random.Next(10, 500)}\"",
            "  resources:",
            $"    limits: {{ cpu: {_random.Next(1, 4)}, memory: {_random.Next(1, 8)}Gi }}",
            $"  replicas: {_random.Next(1, 6)}",
        ];
        if (_random.Next(4) == 0)
        {
            block.InsertRange(5, ["    - name: API_TOKEN", "      valueFrom:", "        secretKeyRef:", $"          name: {noun}-secrets", "          key: api-token"]);
        }

        return block;
    }

    private List<string> JsonBlock()
    {
        var noun = Pick(Nouns);
        return
        [
            $"  \"{noun}{_random.Next(100000)}\": {{",
            $"    \"endpoint\": \"https://{noun}.internal.corp/v{_random.Next(1, 4)}\",",
            $"    \"timeoutSeconds\": {_random.Next(1, 120)},",
            $"    \"retry\": {{ \"attempts\": {_random.Next(1, 6)}, \"backoff\": \"exponential\" }},",
            $"    \"description\": \"{Sentence(9)}\"",
            "  },",
        ];
    }

    private List<string> ShellBlock()
    {
        var noun = Pick(Nouns);
        return
        [
            $"# {Sentence(7)}",
            $"{noun}_dir=\"${{WORK_DIR:-/tmp}}/{noun}\"",
            $"mkdir -p \"${noun}_dir\"",
            $"if ! curl -fsS \"https://{noun}.internal.corp/health\" > /dev/null; then",
            $"  echo \"{noun} is down\" >&2",
            "  exit 1",
            "fi",
            $"tar -czf \"${noun}_dir/backup-$(date +%s).tgz\" ./data/{noun}",
            "",
        ];
    }

    private List<string> MarkdownBlock() =>
    [
        "",
        $"## {Pascal(Pick(Verbs))} {Pick(Nouns)}s",
        "",
        $"{Pascal(Sentence(14))}. {Pascal(Sentence(11))}.",
        $"See https://docs.internal.corp/{Pick(Nouns)}/{Pick(Verbs)} for the {Pick(Words)} {Pick(Words)}.",
        "",
        $"- `{Pick(Verbs)}_{Pick(Nouns)}`: {Sentence(8)}",
        $"- `{Pick(Verbs)}_{Pick(Nouns)}`: {Sentence(6)}",
    ];

    private static List<string> TextFiles(string folder) =>
        [.. Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
            .Where(f => new FileInfo(f).Length is > 0 and < 1_000_000)
            .Order(StringComparer.Ordinal)];

    private static (string Name, List<string> Lines) CopiedFile(List<string> sources, int index)
    {
        var source = sources[index % sources.Count];
        var bytes = File.ReadAllBytes(source);
        var text = bytes.AsSpan(0, Math.Min(bytes.Length, 8000)).Contains((byte)0) ? "" : Encoding.UTF8.GetString(bytes);
        var name = $"copy{index / sources.Count}/{index % sources.Count:D6}-{Path.GetFileName(source)}";
        return (name, [.. text.Split('\n')]);
    }
}
