using System.Text;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>Scans what a range of commits adds to a repository: the check the pipeline runs before it pushes.</summary>
public interface ISecretScanner
{
    /// <summary>
    /// Finds secrets in the lines that the commits <c>baseCommit..headCommit</c> add (each finding names the commit
    /// that added its line). Renamed files are not re-reported, binary files are skipped (file-name rules still apply),
    /// and the allowlist is read from <paramref name="baseCommit"/>. Inline <c>mosaic:allow</c> comments do not count:
    /// the author of the commits could have written them. Throws <see cref="GitException"/> when git cannot read the range.
    /// </summary>
    Task<IReadOnlyList<SecretFinding>> ScanCommitsAsync(string repositoryPath, string baseCommit, string headCommit, CancellationToken cancellationToken);
}

/// <summary>
/// The git side of the scanner: runs <c>git log -p</c> / <c>git diff --cached</c> through <see cref="GitCommand"/>
/// (hooks, fsmonitor, external diff and credential helpers off; no global or system config), with settings that a
/// repository's own config cannot change the output format with, and hands the added lines to the matching engine.
/// </summary>
public sealed class GitSecretScanner : ISecretScanner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The longest line of git's output read whole (characters); a longer added line is a <see cref="LineTooLongRuleId"/> finding.</summary>
    public const int MaxLineChars = 1024 * 1024;

    public const string LineTooLongRuleId = "scan-line-too-long";

    /// <summary>An archive a commit adds is opened (its blob read whole) up to this size; a larger one is not.</summary>
    public const int MaxArchiveBlobBytes = 64 * 1024 * 1024;

    private static readonly string[] ArchiveSuffixes =
        [".zip", ".jar", ".war", ".ear", ".whl", ".nupkg", ".apk", ".tar", ".tgz", ".gz", ".xz", ".txz", ".zst", ".tzst", ".bz2", ".tbz2", ".7z"];

    // Before the subcommand: a repository's config (which an agent can edit) must not change the diff's shape.
    private static readonly string[] OutputSettings =
    [
        "-c", "core.quotePath=false",
        "-c", "diff.noprefix=false",
        "-c", "diff.mnemonicPrefix=false",
        "-c", "diff.relative=false",
        "-c", "log.showSignature=false",
        "-c", "color.ui=false",
    ];

    // --text: a file git would call binary (by content or by a .gitattributes line the change itself adds) is read
    // anyway and judged binary here by its NUL bytes, so attributes cannot hide text from the scan. -M: a renamed file's
    // unchanged lines are not "added". --full-index: file-rule fingerprints use the full blob id.
    private static readonly string[] DiffOptions =
    [
        "-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--text", "--full-index", "-M",
        "--no-relative", "--src-prefix=a/", "--dst-prefix=b/",
    ];

    // Replace refs could show us other commits than the ones pushed; lazy fetches would reach the network.
    private static readonly Dictionary<string, string> GitEnvironment = new()
    {
        ["GIT_NO_REPLACE_OBJECTS"] = "1",
        ["GIT_NO_LAZY_FETCH"] = "1",
    };

    private readonly SecretRules _rules;
    private readonly bool _honorInlineAllow;
    private readonly GitCommand _git;
    private readonly List<AllowedValue>? _allowed;
    private readonly int _chunkChars;
    private readonly bool _repositoryConfig;
    private readonly int _decodeDepth;
    private readonly bool _archives;

    public GitSecretScanner(SecretRules rules)
        : this(rules, honorInlineAllow: false, DefaultTimeout)
    {
    }

    /// <param name="allowed">When given, collects the values that matched a rule but were allowed, with the reason.</param>
    /// <param name="chunkChars">How much of a file's added text is scanned at a time (tests make it small).</param>
    /// <param name="repositoryConfig">Whether a <c>.gitleaks.toml</c> at the base of a range extends <paramref name="rules"/>
    /// (the pipeline, and <c>scan --git</c> without <c>--rules</c>/<c>--config</c>).</param>
    internal GitSecretScanner(SecretRules rules, bool honorInlineAllow, TimeSpan timeout, List<AllowedValue>? allowed = null, int chunkChars = DiffReader.DefaultChunkChars, bool repositoryConfig = true, int decodeDepth = 2, bool archives = true)
    {
        _archives = archives;
        _decodeDepth = decodeDepth;
        _repositoryConfig = repositoryConfig;
        _chunkChars = chunkChars;
        _rules = rules;
        _honorInlineAllow = honorInlineAllow;
        _git = new GitCommand(allowLocal: false, timeout);
        _allowed = allowed;
    }

    public async Task<IReadOnlyList<SecretFinding>> ScanCommitsAsync(string repositoryPath, string baseCommit, string headCommit, CancellationToken cancellationToken)
    {
        var from = await ResolveCommitAsync(repositoryPath, baseCommit, cancellationToken);
        var to = await ResolveCommitAsync(repositoryPath, headCommit, cancellationToken);
        var allowlist = await ReadAllowlistAsync(repositoryPath, from, cancellationToken);
        var rules = _repositoryConfig ? await ReadRepositoryRulesAsync(repositoryPath, from, cancellationToken) : _rules;
        // Oldest first, merges shown as what they add beyond a clean re-merge of their parents (git 2.36+).
        return await ScanDiffAsync(repositoryPath, rules,
            [.. OutputSettings, "log", "--reverse", "--diff-merges=remerge", $"--format={DiffReader.CommitMarker}%H", .. DiffOptions, "--end-of-options", $"{from}..{to}", "--"],
            allowlist, GitEnvironment, cancellationToken);
    }

    /// <summary>
    /// Scans what <c>git commit</c> would commit now (the index against HEAD), with the allowlist file as staged: this is
    /// a person's own check before their commit, so the allowlist they are about to commit is the one that counts. (The
    /// pipeline and <c>--git A..B</c> read it from the base, where the scanned commits cannot have changed it.)
    /// </summary>
    public async Task<IReadOnlyList<SecretFinding>> ScanStagedAsync(string repositoryPath, CancellationToken cancellationToken)
    {
        // Run from a pre-commit hook, git names the index it is building in GIT_INDEX_FILE (for `commit -a` and
        // `commit <paths>` that is not .git/index): the staged content is that index's, so pass it on.
        var environment = new Dictionary<string, string>(GitEnvironment);
        if (Environment.GetEnvironmentVariable("GIT_INDEX_FILE") is { Length: > 0 } index)
        {
            environment["GIT_INDEX_FILE"] = Path.GetFullPath(index, repositoryPath);
        }

        var allowlist = await ReadAllowlistAsync(repositoryPath, "", environment, cancellationToken);
        return await ScanDiffAsync(repositoryPath, _rules, [.. OutputSettings, "diff", "--cached", .. DiffOptions, "--"], allowlist, environment, cancellationToken);
    }

    /// <summary>The allowlist file as it is at <paramref name="revision"/>; empty when it has none.</summary>
    public Task<SecretsAllowlist> ReadAllowlistAsync(string repositoryPath, string revision, CancellationToken cancellationToken) =>
        ReadAllowlistAsync(repositoryPath, revision, GitEnvironment, cancellationToken);

    /// <summary>An empty <paramref name="revision"/> reads the index (<c>:path</c>, the staged version).</summary>
    private async Task<SecretsAllowlist> ReadAllowlistAsync(string repositoryPath, string revision, Dictionary<string, string> environment, CancellationToken cancellationToken)
    {
        // cat-file shows the blob as stored: no textconv or filters, whatever the repository's attributes say.
        var result = await _git.RunAsync(repositoryPath, ["cat-file", "blob", $"{revision}:{SecretsAllowlist.RepositoryPath}"], cancellationToken, environment);
        var allowlist = result.Succeeded ? SecretsAllowlist.Parse(result.Output) : SecretsAllowlist.Empty;
        var gitleaks = await _git.RunAsync(repositoryPath, ["cat-file", "blob", $"{revision}:{SecretsAllowlist.GitleaksIgnorePath}"], cancellationToken, environment);
        return gitleaks.Succeeded ? allowlist.WithGitleaksIgnore(gitleaks.Output) : allowlist;
    }

    /// <summary>
    /// The rules for a range: ours, extended by a <c>.gitleaks.toml</c> at the base revision when there is one (read
    /// from the base like the allowlist: the scanned commits cannot change the rules they are judged by). A config that
    /// does not parse fails the scan: a team's rules silently dropped would let through what they were written to catch.
    /// </summary>
    private async Task<SecretRules> ReadRepositoryRulesAsync(string repositoryPath, string revision, CancellationToken cancellationToken)
    {
        var config = await _git.RunAsync(repositoryPath, ["cat-file", "blob", $"{revision}:{GitleaksConfig.RepositoryPath}"], cancellationToken, GitEnvironment);
        if (!config.Succeeded)
        {
            return _rules;
        }

        try
        {
            return GitleaksConfig.Parse(config.Output, GitleaksConfig.RepositoryPath, _rules);
        }
        catch (SecretRulesException ex)
        {
            throw new GitException($"{GitleaksConfig.RepositoryPath} at {revision[..Math.Min(12, revision.Length)]}: {ex.Message}", Agents.FailureReason.GitFailed);
        }
    }

    /// <summary>The full id of a commit; refuses option-like revisions.</summary>
    public async Task<string> ResolveCommitAsync(string repositoryPath, string revision, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(revision) || revision.StartsWith('-') || revision.Any(char.IsControl))
        {
            throw new GitException($"not a revision: '{revision}'", Agents.FailureReason.GitFailed);
        }

        var result = await _git.RunAsync(repositoryPath, ["rev-parse", "--verify", "--quiet", "--end-of-options", $"{revision}^{{commit}}"], cancellationToken, GitEnvironment);
        if (!result.Succeeded)
        {
            throw new GitException($"no such commit: '{revision}'", Agents.FailureReason.GitFailed);
        }

        return result.Output.Trim();
    }

    /// <summary>
    /// Runs the diff and scans it as git prints it: the output is read line by line and a file's added lines are
    /// scanned in chunks (<see cref="DiffReader"/>), so memory stays at a few MiB whatever the size of the change.
    /// </summary>
    private async Task<List<SecretFinding>> ScanDiffAsync(string repositoryPath, SecretRules rules, IReadOnlyList<string> arguments, SecretsAllowlist allowlist,
        IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var engine = new SecretEngine(rules, new ScanPolicy { HonorInlineAllow = _honorInlineAllow, Allowlist = allowlist, Allowed = _allowed, DecodeDepth = _decodeDepth });
        var findings = new List<SecretFinding>();
        var chunkFindings = new List<SecretFinding>();
        var foundInFile = 0;
        var archives = new List<(string Path, string? Commit, string BlobId)>();
        var reader = new DiffReader(file =>
        {
            var text = !file.Binary ? file.AddedText : _honorInlineAllow ? TextIn(file.AddedText) : file.AddedText.Replace("\0", "", StringComparison.Ordinal);
            chunkFindings.Clear();
            if (text is not null)
            {
                engine.Scan(new ScanFragment { File = file.Path, Commit = file.Commit, Text = text, LineNumbers = file.LineNumbers }, chunkFindings);
            }

            // Findings on the look-ahead lines belong to the next chunk, which scans those lines again as its own.
            var lastOwned = file.LineNumbers[file.Owned - 1];
            foreach (var finding in chunkFindings.Where(f => f.Line <= lastOwned))
            {
                findings.Add(finding);
                foundInFile++;
            }

            foreach (var line in file.CutLines)
            {
                findings.Add(LineTooLong(file, line));
            }

            if (file.Last)
            {
                if (_archives && file.Binary && file.BlobId is { } blob && LooksLikeArchive(file) && !engine.IsPathAllowed(file.Path))
                {
                    archives.Add((file.Path, file.Commit, blob));
                }

                if (foundInFile == 0)
                {
                    engine.ScanFileName(file.Path, file.Commit, file.Binary, () => file.BlobId ?? SecretFingerprint.BlobId(Encoding.UTF8.GetBytes(file.AddedText)), findings);
                }

                foundInFile = 0;
            }
        }, _chunkChars);
        var result = await _git.RunStreamingAsync(repositoryPath, arguments, MaxLineChars, reader.Line, cancellationToken, environment);
        if (!result.Succeeded)
        {
            throw GitCommand.Failure(arguments, result);
        }

        reader.Finish();

        // Archives the commits add: git printed their compressed bytes; open the blobs and scan what is inside.
        var skipped = new List<string>();
        var content = new ContentScanner(engine, archives: true, skipped);
        foreach (var (path, commit, blob) in archives)
        {
            if (await _git.ReadBlobAsync(repositoryPath, blob, MaxArchiveBlobBytes, cancellationToken, environment) is { } bytes && ArchiveScanner.IsArchive(bytes))
            {
                content.Scan(path, bytes, commit, findings);
            }
        }

        return findings;
    }

    /// <summary>An added binary file that may be an archive: by its name, or by the zip or gzip magic at its start.</summary>
    private static bool LooksLikeArchive(DiffFile file) =>
        ArchiveSuffixes.Any(s => file.Path.EndsWith(s, StringComparison.OrdinalIgnoreCase))
        || file.AddedText.StartsWith("PK\u0003\u0004", StringComparison.Ordinal)
        || file.AddedText.StartsWith('\u001f');

    /// <summary>
    /// A line longer than <see cref="MaxLineChars"/> is scanned in its first part only, so it is reported (fail closed,
    /// like a rule that timed out): padding a line must not hide a key behind it. Allowlist its fingerprint to accept it.
    /// </summary>
    private static SecretFinding LineTooLong(DiffFile file, int line) => new()
    {
        RuleId = LineTooLongRuleId,
        Description = $"Added line longer than {MaxLineChars / (1024 * 1024)} MiB characters: only its first {MaxLineChars / (1024 * 1024)} MiB was scanned",
        File = file.Path,
        Line = line,
        Column = 1,
        Commit = file.Commit,
        Preview = "***",
        Fingerprint = SecretFingerprint.Compute(LineTooLongRuleId, file.Path, $"{line}"),
    };

    /// <summary>
    /// For a person's scan: what of "binary" added content is text after all. UTF-16 (a NUL beside every character:
    /// .ps1, .reg files) and text with a few NULs are read with the NULs taken out, which keeps the line numbers;
    /// content full of control bytes is really binary and skipped. The pipeline (which does not honour inline allow
    /// comments either) reads every added byte this way: an agent could otherwise pad a file with bytes to hide a key.
    /// </summary>
    internal static string? TextIn(string added)
    {
        var nuls = 0;
        var odd = 0;
        foreach (var c in added)
        {
            if (c == '\0')
            {
                nuls++;
            }
            else if ((c < ' ' && c is not ('\t' or '\n' or '\r')) || c == '\uFFFD')
            {
                odd++; // control characters and bytes that were not UTF-8: what real binary is full of
            }
        }

        var utf16 = nuls * 3 >= added.Length && nuls * 5 <= added.Length * 3;
        if (odd * 10 > added.Length || (!utf16 && nuls * 100 > added.Length))
        {
            return null;
        }

        return added.Replace("\0", "", StringComparison.Ordinal);
    }
}
