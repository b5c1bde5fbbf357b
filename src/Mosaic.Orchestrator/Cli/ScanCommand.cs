using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Cli;

/// <summary>
/// <c>mosaic-orchestrator scan</c>: the secret scanner on files, a git range or the staged changes. Exit 0 when clean,
/// 1 on findings, 2 when it could not scan as asked (bad arguments, rules file, revision or path).
/// </summary>
internal static class ScanCommand
{
    public const string Usage = """
        usage: mosaic-orchestrator scan [PATH...] [--git <rev-range>] [--staged] [--format text|json|sarif|gitleaks] [--rules FILE | --config FILE] [--no-decode] [--no-archives] [--verbose]
          PATH...          files or folders to scan (default: the current folder); skips .git, symbolic links, files over 10 MiB
          --git A..B       scan the lines the commits A..B add (A alone means A..HEAD); the allowlist comes from A
          --staged         scan what is staged for commit (a pre-commit hook); the allowlist is the staged one
          --format F       text (default), json, sarif (SARIF 2.1.0), or gitleaks (gitleaks' JSON report shape)
          --rules FILE     a rules file that extends the defaults (or replaces them with "extend": false)
          --config FILE    a gitleaks config (.gitleaks.toml); [extend] useDefault = true builds on our defaults
                           (without --rules/--config, --git reads .gitleaks.toml from the base of the range)
          --no-decode      do not decode base64, hex and gzip+base64 values to scan what they hold
          --no-archives    do not look inside archives and compressed files (zip, tar, gz, xz, zst, bz2, 7z)
          -v, --verbose    also list the values that were allowed, and why (on stderr); say so when nothing was found
        A line containing mosaic:allow is not reported; nor is a finding whose fingerprint is in .mosaic/secrets-allowlist,
        or whose gitleaks fingerprint (commit:file:rule:line, or file:rule:line) is in .gitleaksignore.
        A clean text scan prints nothing. Exit status: 0 clean, 1 secrets found, 2 usage or scan error.
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, string workingDirectory, CancellationToken cancellationToken)
    {
        Options options;
        try
        {
            options = Parse(args);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"mosaic-orchestrator scan: {ex.Message}\n{Usage}");
            return 2;
        }

        if (options.Help)
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }

        IReadOnlyList<SecretFinding> findings;
        SecretRules rules;
        List<AllowedValue>? allowed = options.Verbose ? [] : null;
        try
        {
            rules = options switch
            {
                { RulesFile: { } file } => SecretRules.Load(Path.GetFullPath(file, workingDirectory)),
                { ConfigFile: { } config } => GitleaksConfig.Load(Path.GetFullPath(config, workingDirectory)),
                _ => SecretRules.Default,
            };
            var git = new GitSecretScanner(rules, honorInlineAllow: true, GitSecretScanner.DefaultTimeout, allowed,
                repositoryConfig: options.RulesFile is null && options.ConfigFile is null, decodeDepth: options.Decode ? 2 : 0, archives: options.Archives);
            findings = options switch
            {
                { Range: { } range } => await ScanRangeAsync(git, workingDirectory, range, cancellationToken),
                { Staged: true } => await git.ScanStagedAsync(workingDirectory, cancellationToken),
                _ => await ScanPathsAsync(git, rules, options, workingDirectory, allowed, error, cancellationToken),
            };
        }
        catch (Exception ex) when (ex is SecretRulesException or GitException or FileNotFoundException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"mosaic-orchestrator scan: {ex.Message}");
            return 2;
        }

        // Diagnostics go to stderr, so stdout stays the report (one finding a line, or the JSON/SARIF document).
        if (allowed is not null)
        {
            SecretReports.WriteAllowed(error, allowed);
        }

        switch (options.Format)
        {
            case "json":
                await output.WriteLineAsync(SecretReports.Json(findings));
                break;
            case "sarif":
                await output.WriteLineAsync(SecretReports.Sarif(findings, rules));
                break;
            case "gitleaks":
                await output.WriteLineAsync(SecretReports.Gitleaks(findings));
                break;
            default:
                SecretReports.WriteText(output, findings);
                if (findings.Count > 0)
                {
                    await error.WriteLineAsync($"{SecretReports.Plural(findings.Count, "secret")} found");
                    await error.WriteLineAsync(Hint(options));
                }
                else if (options.Verbose)
                {
                    // A clean run is silent (a pre-commit hook runs on every commit); --verbose says it was clean.
                    await error.WriteLineAsync(allowed is { Count: > 0 } ? $"no secrets found ({SecretReports.Plural(allowed.Count, "value")} allowed)" : "no secrets found");
                }

                break;
        }

        return findings.Count == 0 ? 0 : 1;
    }

    /// <summary>How to suppress a finding that is not a secret (or get past the hook once), for the mode that ran.</summary>
    internal static string Hint(bool staged, string? range)
    {
        var where = (staged, range) switch
        {
            (true, _) => " and stage it",
            (_, null) => " (inside a git work tree: as committed at HEAD)",
            _ => " (read from the base of the range)",
        };
        var hint = $"not a secret? add \"{SecretEngine.InlineAllowMarker}\" in a comment on its line, or its fingerprint to {SecretsAllowlist.RepositoryPath}{where}";
        return staged ? hint + "\nto commit anyway, this once: git commit --no-verify" : hint;
    }

    private static string Hint(Options options) => Hint(options.Staged, options.Range);

    private static async Task<IReadOnlyList<SecretFinding>> ScanRangeAsync(GitSecretScanner git, string repository, string range, CancellationToken cancellationToken)
    {
        var dots = range.IndexOf("..", StringComparison.Ordinal);
        var (from, to) = dots < 0 ? (range, "HEAD") : (range[..dots], range[(dots + 2)..] is { Length: > 0 } head ? head : "HEAD");
        if (from.Length == 0 || to.StartsWith('.'))
        {
            throw new GitException($"--git wants A..B or A, not '{range}'", Agents.FailureReason.GitFailed);
        }

        return await git.ScanCommitsAsync(repository, from, to, cancellationToken);
    }

    /// <summary>
    /// Inside a git work tree, names are relative to its top folder (so the allowlist's path globs read the same as in
    /// the pipeline) and the allowlist is the one committed at HEAD; elsewhere names are relative to the working folder
    /// and the allowlist is <c>./.mosaic/secrets-allowlist</c> if there is one.
    /// </summary>
    private static async Task<IReadOnlyList<SecretFinding>> ScanPathsAsync(GitSecretScanner git, SecretRules rules, Options options, string workingDirectory, List<AllowedValue>? allowed, TextWriter error, CancellationToken cancellationToken)
    {
        var paths = options.Paths;
        var root = workingDirectory;
        SecretsAllowlist allowlist;
        try
        {
            var top = await new GitCommand(allowLocal: false, GitSecretScanner.DefaultTimeout).RunAsync(workingDirectory, ["rev-parse", "--show-toplevel"], cancellationToken);
            if (top.Succeeded)
            {
                root = top.Output.Trim();
                allowlist = await git.ReadAllowlistAsync(root, "HEAD", cancellationToken);
            }
            else
            {
                var file = Path.Combine(workingDirectory, SecretsAllowlist.RepositoryPath);
                allowlist = File.Exists(file) ? SecretsAllowlist.Parse(await File.ReadAllTextAsync(file, cancellationToken)) : SecretsAllowlist.Empty;
                var ignore = Path.Combine(workingDirectory, SecretsAllowlist.GitleaksIgnorePath);
                allowlist = File.Exists(ignore) ? allowlist.WithGitleaksIgnore(await File.ReadAllTextAsync(ignore, cancellationToken)) : allowlist;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            allowlist = SecretsAllowlist.Empty; // no git on this machine: plain files are still scannable
        }

        foreach (var warning in allowlist.Warnings)
        {
            await error.WriteLineAsync($"warning: {warning}");
        }

        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path, workingDirectory);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                throw new FileNotFoundException($"no such file or directory: {path}", path);
            }
        }

        var scanner = new PathScanner(new SecretEngine(rules, new ScanPolicy { HonorInlineAllow = true, Allowlist = allowlist, Allowed = allowed, DecodeDepth = options.Decode ? 2 : 0 }), archives: options.Archives);
        var findings = new List<SecretFinding>();
        scanner.Scan(paths.Count == 0 ? [workingDirectory] : paths.Select(p => Path.GetFullPath(p, workingDirectory)), root, findings);
        foreach (var skipped in scanner.Skipped)
        {
            await error.WriteLineAsync($"skipped {skipped}");
        }

        return findings;
    }

    private static Options Parse(IReadOnlyList<string> args)
    {
        var options = new Options();
        var onlyPaths = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (onlyPaths || !arg.StartsWith('-') || arg == "-")
            {
                options.Paths.Add(arg);
                continue;
            }

            var (name, inline) = arg.IndexOf('=', StringComparison.Ordinal) is var eq and > 0 ? (arg[..eq], arg[(eq + 1)..]) : (arg, null);
            string Value() => inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"{name} needs a value"));
            switch (name)
            {
                case "--":
                    onlyPaths = true;
                    break;
                case "-h" or "--help":
                    options.Help = true;
                    break;
                case "--staged" or "--cached" when inline is null:
                    options.Staged = true;
                    break;
                case "-v" or "--verbose" when inline is null:
                    options.Verbose = true;
                    break;
                case "--git":
                    options.Range = Value();
                    break;
                case "--format":
                    options.Format = Value();
                    if (options.Format is not ("text" or "json" or "sarif" or "gitleaks"))
                    {
                        throw new UsageException($"unknown format '{options.Format}' (text, json, sarif or gitleaks)");
                    }

                    break;
                case "--rules":
                    options.RulesFile = Value();
                    break;
                case "--config":
                    options.ConfigFile = Value();
                    break;
                case "--no-decode" when inline is null:
                    options.Decode = false;
                    break;
                case "--no-archives" when inline is null:
                    options.Archives = false;
                    break;
                default:
                    throw new UsageException($"unknown option '{arg}'");
            }
        }

        if (options.RulesFile is not null && options.ConfigFile is not null)
        {
            throw new UsageException("--rules and --config cannot be combined");
        }

        var modes = (options.Paths.Count > 0 ? 1 : 0) + (options.Range is null ? 0 : 1) + (options.Staged ? 1 : 0);
        if (modes > 1)
        {
            throw new UsageException("PATH, --git and --staged cannot be combined");
        }

        return options;
    }

    private sealed class Options
    {
        public List<string> Paths { get; } = [];

        public string? Range { get; set; }

        public bool Staged { get; set; }

        public string Format { get; set; } = "text";

        public string? RulesFile { get; set; }

        public string? ConfigFile { get; set; }

        public bool Decode { get; set; } = true;

        public bool Archives { get; set; } = true;

        public bool Help { get; set; }

        public bool Verbose { get; set; }
    }

    private sealed class UsageException(string message) : Exception(message);
}
