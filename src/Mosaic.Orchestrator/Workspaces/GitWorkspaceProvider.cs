using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// Git worktrees from a repository cache. One bare clone per repository URL under DATA_DIR/repos, fetched before
/// every agent starts, so the base is always the latest origin/&lt;branch&gt;; one worktree per agent at
/// &lt;cache&gt;/&lt;repo&gt;_worktrees/agent-&lt;agentId&gt;-&lt;taskId&gt; on a new branch. Operations that change the
/// shared repository (clone, fetch, worktree add and remove, push) are serialised per repository; agents on different
/// repositories never wait for each other, and commits inside worktrees run in parallel.
/// </summary>
public sealed class GitWorkspaceProvider : IWorkspaceProvider, IWorkspaceInspector, IWipBranches
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _repositoryLocks = new(StringComparer.Ordinal);
    private readonly OrchestratorOptions _settings;
    private readonly GitCommand _git;
    private readonly IIsolatedWorkspaces? _isolated;

    /// <param name="isolated">The sandbox's repositories of their own, when SANDBOX_ENABLED; else worktrees of the cache.</param>
    public GitWorkspaceProvider(IOptions<OrchestratorOptions> options, IIsolatedWorkspaces? isolated = null)
    {
        _settings = options.Value;
        _isolated = isolated;
        _git = new GitCommand(_settings.AllowLocalRepositories, TimeSpan.FromSeconds(_settings.GitTimeoutSeconds), _settings.AgentNice);
        CacheRoot = Path.Combine(_settings.FullDataDir, "repos");
    }

    public string CacheRoot { get; }

    /// <summary>The cache folder of a repository: a readable name plus a hash of the whole URL, so different URLs never share one.</summary>
    public string CacheFor(string repository)
    {
        repository = RepositoryAddress.SplitCredentials(repository).Url;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(repository)))[..12];
        var last = repository.TrimEnd('/').Split('/', ':').Last();
        if (last.EndsWith(".git", StringComparison.OrdinalIgnoreCase))
        {
            last = last[..^4];
        }

        var name = new string([.. last.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(40)]).TrimStart('.');
        return Path.Combine(CacheRoot, $"{(name.Length == 0 ? "repo" : name)}-{hash}");
    }

    public string WorktreeFor(AgentRecord agent) =>
        Path.Combine($"{CacheFor(agent.Context.Repository)}_worktrees", $"agent-{agent.AgentId}-{agent.TaskId}");

    public string BranchFor(AgentRecord agent) => BranchTemplate.Render(_settings.AgentBranchTemplate, agent);

    public async Task<Workspace> PrepareAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var branch = BranchFor(agent);
        if (BranchName.Check(branch) is { } problem)
        {
            throw new GitException($"AGENT_BRANCH_TEMPLATE gives '{branch}', which is not a valid branch name: {problem}", FailureReason.BadBranchTemplate);
        }

        var cache = CacheFor(agent.Context.Repository);
        var worktree = WorktreeFor(agent);
        return await WithRepositoryLockAsync(cache, async () =>
        {
            await FetchAsync(agent.Context.Repository, cache, cancellationToken);
            var baseCommit = await BaseCommitAsync(cache, agent.Context.Branch, cancellationToken);
            // A resumed agent starts from the earlier agent's work, which stays measured against the base it was made on.
            var start = baseCommit;
            if (agent.Resume is { } resume)
            {
                start = await ResumeCommitAsync(cache, resume, cancellationToken);
                baseCommit = resume.BaseCommit;
            }

            // Removes what an earlier attempt left, and prunes a registration whose folder vanished (its agent deleted
            // it before a crash): `worktree add --force` alone still refuses that path, as the registration holds the branch.
            await RemoveWorktreeAsync(cache, worktree, cancellationToken);
            if (_isolated is not null)
            {
                // Through a git dir of our own, as every write here: it runs no hook an earlier agent left in the cache.
                using var source = ServiceGitDir.Create(cache);
                await _git.RunCheckedAsync(source.Path, ["update-ref", $"refs/heads/{branch}", start], cancellationToken);
                await _isolated.PrepareAsync(worktree, source.Path, branch, cancellationToken);
                return new Workspace(worktree, branch, baseCommit);
            }

            await _git.RunCheckedAsync(cache, ["worktree", "add", "--force", "--quiet", "--no-checkout", "-B", branch, worktree, start], cancellationToken);
            // The checkout in a git dir of our own: one that read the cache's config and info/attributes would run any
            // smudge filter a process left behind by an earlier agent writes back there after the rewrite above.
            using var gitDir = ServiceGitDir.Create(cache);
            await _git.RunCheckedAsync(worktree, [.. At(cache, worktree), "reset", "--hard", "--quiet", "--no-recurse-submodules", "HEAD"], cancellationToken, gitDir.Environment);
            return new Workspace(worktree, branch, baseCommit);
        }, cancellationToken);
    }

    public async Task<CommitOutcome> CommitAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var worktree = WorktreeFor(agent);
        var baseCommit = agent.BaseCommit ?? throw new InvalidOperationException("the agent has no base commit");
        var cache = CacheFor(agent.Context.Repository);
        if (_isolated is not null)
        {
            return await ReadBackAsync(agent, cache, worktree, baseCommit, cancellationToken);
        }

        var at = At(cache, worktree);
        // Never the cache's config or info/attributes, which every agent on the repository can write (see ServiceGitDir).
        using var gitDir = ServiceGitDir.Create(cache);
        var environment = gitDir.Environment;
        await _git.RunCheckedAsync(worktree, [.. at, "add", "--all"], cancellationToken, environment);
        // Anything to commit: the index's tree against HEAD's. Plumbing on purpose: `git status` reads .gitmodules and
        // dies on a value it refuses there (`update = !command`), which a base repository may hold.
        var staged = (await _git.RunCheckedAsync(worktree, [.. at, "write-tree"], cancellationToken, environment)).Trim();
        var tree = await _git.RunAsync(worktree, [.. at, "rev-parse", "--verify", "--quiet", "HEAD^{tree}"], cancellationToken, environment);
        if (staged != (tree.Succeeded ? tree.Output.Trim() : "")) // no HEAD (an orphan branch): a first commit
        {
            await _git.RunCheckedAsync(worktree, [.. at, "commit", "--quiet", "--no-gpg-sign", "--no-verify", "-m", CommitMessage(agent)], cancellationToken,
                new Dictionary<string, string>(Identity().Concat(environment)));
        }

        var head = (await _git.RunCheckedAsync(worktree, [.. at, "rev-parse", "--verify", "HEAD^{commit}"], cancellationToken, environment)).Trim();
        var diff = await _git.RunAsync(worktree, [.. at, "diff", "--quiet", "--no-ext-diff", "--no-textconv", baseCommit, head], cancellationToken, environment);
        return diff.ExitCode is 0 or 1
            ? new CommitOutcome(head, Changed: diff.ExitCode == 1)
            : throw GitCommand.Failure(["diff", "--quiet"], diff);
    }

    /// <summary>
    /// The sandbox's commit: the agent's repository bundles its work inside the sandbox; the bundle is fetched into the
    /// cache as the agent's branch, through a git dir of our own that checks every object it receives.
    /// </summary>
    private async Task<CommitOutcome> ReadBackAsync(AgentRecord agent, string cache, string worktree, string baseCommit, CancellationToken cancellationToken)
    {
        var branch = agent.Branch ?? BranchFor(agent);
        using (var result = await _isolated!.BundleAsync(agent, worktree, baseCommit, CommitMessage(agent), Identity(), cancellationToken))
        {
            if (result.Bundle is null)
            {
                return new CommitOutcome(baseCommit, Changed: false);
            }

            using var gitDir = ServiceGitDir.Create(cache);
            await _git.RunCheckedAsync(gitDir.Path, ["-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                result.Bundle, $"+HEAD:refs/heads/{branch}"], cancellationToken);
        }

        var head = (await _git.RunCheckedAsync(cache, ["rev-parse", "--verify", $"refs/heads/{branch}^{{commit}}"], cancellationToken)).Trim();
        var diff = await _git.RunAsync(cache, ["diff", "--quiet", "--no-ext-diff", "--no-textconv", baseCommit, head], cancellationToken);
        return diff.ExitCode is 0 or 1
            ? new CommitOutcome(head, Changed: diff.ExitCode == 1)
            : throw GitCommand.Failure(["diff", "--quiet"], diff);
    }

    /// <summary>The worktree's .git file is the agent's to edit: name its git dir explicitly instead of following it.</summary>
    private static string[] At(string cache, string worktree) =>
        ["--git-dir", Path.Combine(cache, "worktrees", Path.GetFileName(worktree)), "--work-tree", worktree];

    public async Task<string?> ReadAtBaseAsync(AgentRecord agent, string path, CancellationToken cancellationToken)
    {
        var baseCommit = agent.BaseCommit ?? throw new InvalidOperationException("the agent has no base commit");
        var shown = await _git.RunAsync(CacheFor(agent.Context.Repository), ["show", "--no-ext-diff", "--no-textconv", $"{baseCommit}:{path}"], cancellationToken);
        return shown.Succeeded ? shown.Output : null;
    }

    public ServiceGitDir OpenRepository(AgentRecord agent) => ServiceGitDir.Create(CacheFor(agent.Context.Repository));

    public async Task<ChangeSummary> DescribeChangesAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var cache = CacheFor(agent.Context.Repository);
        var baseCommit = agent.BaseCommit ?? throw new InvalidOperationException("the agent has no base commit");
        var head = agent.HeadCommit ?? throw new InvalidOperationException("the agent has no head commit");
        var names = await _git.RunCheckedAsync(cache, ["diff", "--name-only", "--no-ext-diff", "--no-textconv", "-z", baseCommit, head], cancellationToken);
        var stat = await _git.RunCheckedAsync(cache, ["diff", "--stat=200", "--no-ext-diff", "--no-textconv", baseCommit, head], cancellationToken);
        return new ChangeSummary([.. names.Split('\0', StringSplitOptions.RemoveEmptyEntries)], stat.TrimEnd());
    }

    public async Task<BoundedDiff> DiffAsync(AgentRecord agent, int maxBytes, CancellationToken cancellationToken)
    {
        var baseCommit = agent.BaseCommit ?? throw new InvalidOperationException("the agent has no base commit");
        var head = agent.HeadCommit ?? throw new InvalidOperationException("the agent has no head commit");
        // One character more than the bound tells a cut diff from one that fits exactly.
        GitResult diff;
        using (var repository = OpenRepository(agent))
        {
            diff = await _git.RunAsync(repository.Path, ["diff", "--no-ext-diff", "--no-textconv", "--no-color", baseCommit, head], cancellationToken,
                maxOutputChars: maxBytes + 1);
        }

        if (!diff.Succeeded)
        {
            throw GitCommand.Failure(["diff", baseCommit], diff);
        }

        var bytes = Encoding.UTF8.GetBytes(diff.Output);
        if (bytes.Length <= maxBytes && diff.Output.Length <= maxBytes)
        {
            return new BoundedDiff(diff.Output, Truncated: false);
        }

        // Cut at the last line end inside the bound: a newline is one byte in UTF-8, so no character is split.
        var end = Array.LastIndexOf(bytes, (byte)'\n', Math.Min(maxBytes, bytes.Length) - 1);
        return new BoundedDiff(Encoding.UTF8.GetString(bytes, 0, end + 1), Truncated: true);
    }

    public async Task<ConflictCheck> CheckConflictsAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var cache = CacheFor(agent.Context.Repository);
        var latest = await WithRepositoryLockAsync(cache, async () =>
        {
            await FetchAsync(agent.Context.Repository, cache, cancellationToken);
            return await BaseCommitAsync(cache, agent.Context.Branch, cancellationToken);
        }, cancellationToken);
        if (latest == agent.BaseCommit)
        {
            return new ConflictCheck(latest, []);
        }

        // merge-tree writes the merged tree into the object store only: no worktree, index or ref changes.
        // The head recorded at commit time, not a branch name: the agent may have moved or shadowed its branch ref.
        var head = agent.HeadCommit ?? throw new InvalidOperationException("the agent has no head commit");
        // In a git dir of our own: a content merge runs any merge driver the cache's config and info/attributes name.
        GitResult merge;
        using (var repository = ServiceGitDir.Create(cache))
        {
            merge = await _git.RunAsync(repository.Path, ["merge-tree", "--write-tree", "--name-only", "--no-messages", latest, head], cancellationToken);
        }

        return merge.ExitCode switch
        {
            0 => new ConflictCheck(latest, []),
            1 => new ConflictCheck(latest, [.. merge.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Distinct(StringComparer.Ordinal)]),
            _ => throw GitCommand.Failure(["merge-tree", "--write-tree"], merge),
        };
    }

    public Task PushAsync(AgentRecord agent, CancellationToken cancellationToken) =>
        PushBranchAsync(agent, BranchFor(agent), agent.HeadCommit ?? throw new InvalidOperationException("the agent has no head commit"),
            agent.PushedCommits ?? [], cancellationToken);

    public string WipBranchFor(AgentRecord agent) => BranchTemplate.Render(_settings.WipBranchTemplate, agent, BranchFor(agent));

    public async Task<string> PushWipAsync(AgentRecord agent, string commit, CancellationToken cancellationToken)
    {
        var branch = WipBranchFor(agent);
        await PushBranchAsync(agent, branch, commit, agent.WipCommit is { } earlier ? [earlier] : [], cancellationToken);
        return branch;
    }

    public async Task ForgetAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var cache = CacheFor(agent.Context.Repository);
        if (!File.Exists(Path.Combine(cache, "HEAD")))
        {
            return; // this node never held the repository: nothing of the agent is here, and its WIP is another node's to delete
        }

        await WithRepositoryLockAsync(cache, async () =>
        {
            if (agent.WipCommit is { } commit && agent.WipBranch is { } wip && BranchName.Check(wip) is null)
            {
                // Deleted only while it still holds this agent's WIP: a branch someone moved on is theirs now. A config of
                // our own, as for every push: the cache's is the agents' to write.
                using var gitDir = ServiceGitDir.Create(cache, RepositoryAddress.SplitCredentials(agent.Context.Repository).Url);
                await _git.RunAsync(gitDir.Path, ["push", "--porcelain", $"--force-with-lease=refs/heads/{wip}:{commit}", "origin", $":refs/heads/{wip}"],
                    cancellationToken, Credentials(agent.Context.Repository));
                await _git.RunAsync(cache, ["update-ref", "-d", $"refs/remotes/origin/{wip}"], cancellationToken);
            }

            if (agent.Branch is { } branch && BranchName.Check(branch) is null)
            {
                await _git.RunAsync(cache, ["update-ref", "-d", $"refs/heads/{branch}"], cancellationToken);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Pushes <paramref name="head"/> to one of the agent's own branches. What the last fetch saw there may be replaced
    /// only when this agent put it there (<paramref name="ownCommits"/>: an earlier attempt's push); otherwise the
    /// branch must be absent. The lease also refuses if anyone moved it since that fetch.
    /// </summary>
    private async Task PushBranchAsync(AgentRecord agent, string branch, string head, IReadOnlyList<string> ownCommits, CancellationToken cancellationToken)
    {
        if (BranchName.Check(branch) is { } invalid)
        {
            throw new GitException($"'{branch}' is not a valid branch name: {invalid}", FailureReason.BadBranchTemplate);
        }

        var cache = CacheFor(agent.Context.Repository);
        var push = await WithRepositoryLockAsync(cache, async () =>
        {
            var seen = await _git.RunAsync(cache, ["rev-parse", "--verify", "--quiet", $"refs/remotes/origin/{branch}"], cancellationToken);
            var current = seen.Succeeded ? seen.Output.Trim() : "";
            if (current.Length > 0 && !ownCommits.Contains(current, StringComparer.Ordinal))
            {
                throw new GitException($"the remote's {branch} holds {current[..Math.Min(12, current.Length)]}, which this agent did not push; refusing to replace it", FailureReason.PushRejected);
            }

            var lease = $"--force-with-lease=refs/heads/{branch}:{current}";
            // A config of our own, as for fetch: remote.origin.receivepack runs a command for a local remote.
            using var gitDir = ServiceGitDir.Create(cache, RepositoryAddress.SplitCredentials(agent.Context.Repository).Url);
            return await _git.RunAsync(gitDir.Path, ["push", "--porcelain", lease, "origin", $"{head}:refs/heads/{branch}"], cancellationToken, Credentials(agent.Context.Repository));
        }, cancellationToken);
        if (push.Succeeded)
        {
            return;
        }

        var failure = GitCommand.Failure(["push", "origin"], push);
        var said = $"{push.Output}\n{push.Error}";
        if (said.Contains("[rejected]", StringComparison.Ordinal) || said.Contains("[remote rejected]", StringComparison.Ordinal)
            || said.Contains("hook declined", StringComparison.Ordinal) || said.Contains("non-fast-forward", StringComparison.Ordinal))
        {
            var rejection = string.Join(" | ", said.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.StartsWith('!') || l.StartsWith("remote:", StringComparison.Ordinal) || l.Contains("rejected", StringComparison.Ordinal))
                .Take(8));
            throw new GitException($"the push of {branch} was rejected: {GitCommand.Redact(rejection)}", FailureReason.PushRejected);
        }

        throw failure;
    }

    public async Task<bool> RemoveAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var cache = CacheFor(agent.Context.Repository);
        var worktree = WorktreeFor(agent);
        var existed = Directory.Exists(worktree);
        await WithRepositoryLockAsync(cache, () => RemoveWorktreeAsync(cache, worktree, cancellationToken), cancellationToken);
        return existed;
    }

    public async Task<int> ReconcileAsync(IReadOnlySet<Guid> liveAgents, CancellationToken cancellationToken)
    {
        // Git dirs of a process killed mid-call; an hour old at least, for where a pid cannot tell (a service in
        // another pid namespace sharing /tmp).
        ServiceGitDir.RemoveLeftovers(TimeSpan.FromHours(1));
        if (!Directory.Exists(CacheRoot))
        {
            return 0;
        }

        var removed = 0;
        foreach (var worktrees in Directory.EnumerateDirectories(CacheRoot, "*_worktrees"))
        {
            var cache = worktrees[..^"_worktrees".Length];
            foreach (var worktree in Directory.EnumerateDirectories(worktrees, "agent-*"))
            {
                // agent-<36-char uuid>-<taskId>
                var name = Path.GetFileName(worktree);
                if (name.Length > 42 && Guid.TryParse(name.AsSpan(6, 36), out var agentId) && !liveAgents.Contains(agentId))
                {
                    try
                    {
                        await WithRepositoryLockAsync(cache, () => RemoveWorktreeAsync(cache, worktree, cancellationToken), cancellationToken);
                        removed++;
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or GitException)
                    {
                        // One leftover that cannot be removed (made read-only by its agent, say) must not stop the
                        // service from starting; the next start tries again.
                    }
                }
            }
        }

        return removed;
    }

    private async Task FetchAsync(string repository, string cache, CancellationToken cancellationToken)
    {
        var credentials = Credentials(repository);
        var url = RepositoryAddress.SplitCredentials(repository).Url;
        if (File.Exists(Path.Combine(cache, "HEAD")))
        {
            // The config is shared with agents, who run code as our user: rewrite it whole before every fetch, so a
            // changed origin, url.insteadOf or worktree extension planted by one agent never reaches the next.
            await WriteConfigAsync(cache, url, cancellationToken);
            // Still, a process an agent left behind can write it again at any moment (remote.origin.uploadpack runs a
            // command for a local remote, core.gitProxy for git://): fetch reads a config of our own.
            using var gitDir = ServiceGitDir.Create(cache, url);
            await _git.RunCheckedAsync(gitDir.Path, ["fetch", "--quiet", "--prune", "--no-tags", "origin"], cancellationToken, credentials);
            return;
        }

        // Clone into a temporary folder and rename it into place, so a failed or interrupted clone never leaves a
        // half-made cache behind.
        Directory.CreateDirectory(CacheRoot);
        var partial = $"{cache}.partial-{Guid.NewGuid():N}";
        try
        {
            await _git.RunCheckedAsync(null, ["init", "--quiet", "--bare", partial], cancellationToken);
            await WriteConfigAsync(partial, url, cancellationToken);
            await _git.RunCheckedAsync(partial, ["fetch", "--quiet", "--no-tags", "origin"], cancellationToken, credentials);
            Directory.Move(partial, cache);
        }
        finally
        {
            if (Directory.Exists(partial))
            {
                Directory.Delete(partial, recursive: true);
            }
        }
    }

    /// <summary>
    /// The cache's whole config, written by us: origin (without credentials) and its refspec, and no automatic gc
    /// (it could repack while another agent's git runs in a worktree of this cache).
    /// </summary>
    private static async Task WriteConfigAsync(string cache, string url, CancellationToken cancellationToken)
    {
        var config = $"""
            [core]
            	repositoryformatversion = 0
            	filemode = true
            	bare = true
            [gc]
            	auto = 0

            """ + ServiceGitDir.Origin(url);
        var path = Path.Combine(cache, "config");
        var temporary = $"{path}.mosaic-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(temporary, config, cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The earlier agent's WIP commit, as origin has it on the WIP branch (just fetched), descending from its base.</summary>
    private async Task<string> ResumeCommitAsync(string cache, ResumePoint resume, CancellationToken cancellationToken)
    {
        var onOrigin = await _git.RunAsync(cache, ["rev-parse", "--verify", "--quiet", $"refs/remotes/origin/{resume.WipBranch}^{{commit}}"], cancellationToken);
        var fromBase = await _git.RunAsync(cache, ["merge-base", "--is-ancestor", resume.BaseCommit, resume.WipCommit], cancellationToken);
        return onOrigin.Succeeded && onOrigin.Output.Trim() == resume.WipCommit && fromBase.Succeeded
            ? resume.WipCommit
            : throw new GitException($"the work to resume ({resume.WipCommit[..Math.Min(12, resume.WipCommit.Length)]} on {resume.WipBranch}) is no longer on origin", FailureReason.BadRepository);
    }

    private async Task<string> BaseCommitAsync(string cache, string branch, CancellationToken cancellationToken)
    {
        var found = await _git.RunAsync(cache, ["rev-parse", "--verify", "--quiet", $"refs/remotes/origin/{branch}^{{commit}}"], cancellationToken);
        return found.Succeeded
            ? found.Output.Trim()
            : throw new GitException($"the base branch '{branch}' does not exist on origin", FailureReason.BadRepository);
    }

    private async Task RemoveWorktreeAsync(string cache, string worktree, CancellationToken cancellationToken)
    {
        if (Directory.Exists(worktree)
            && Directory.Exists(cache)
            && (await _git.RunAsync(cache, ["worktree", "remove", "--force", "--force", worktree], cancellationToken)).Succeeded)
        {
            return;
        }

        // git could not remove it (not registered, damaged, made read-only, or already gone): delete what is left
        // and let git forget the registration, so the next attempt can add the worktree again.
        ForceDelete(worktree);
        if (Directory.Exists(cache))
        {
            await _git.RunAsync(cache, ["worktree", "prune"], cancellationToken);
        }
    }

    /// <summary>Deletes a folder an agent may have made read-only.</summary>
    internal static void ForceDelete(string path)
    {
        if (!Directory.Exists(path))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).Prepend(path))
        {
            if (OperatingSystem.IsLinux())
            {
                File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        Directory.Delete(path, recursive: true);
    }

    /// <summary>The per-call git settings that carry an https credential, so it is never stored in a config or an argument.</summary>
    private static Dictionary<string, string>? Credentials(string repository) =>
        RepositoryAddress.SplitCredentials(repository).AuthorizationHeader is { } header
            ? new() { ["GIT_CONFIG_COUNT"] = "1", ["GIT_CONFIG_KEY_0"] = "http.extraHeader", ["GIT_CONFIG_VALUE_0"] = header }
            : null;

    private async Task<T> WithRepositoryLockAsync<T>(string cache, Func<Task<T>> work, CancellationToken cancellationToken)
    {
        var gate = _repositoryLocks.GetOrAdd(cache, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await work();
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task WithRepositoryLockAsync(string cache, Func<Task> work, CancellationToken cancellationToken) =>
        await WithRepositoryLockAsync(cache, async () =>
        {
            await work();
            return true;
        }, cancellationToken);

    private Dictionary<string, string> Identity() => new()
    {
        ["GIT_AUTHOR_NAME"] = _settings.GitAuthorName,
        ["GIT_AUTHOR_EMAIL"] = _settings.GitAuthorEmail,
        ["GIT_COMMITTER_NAME"] = _settings.GitAuthorName,
        ["GIT_COMMITTER_EMAIL"] = _settings.GitAuthorEmail,
    };

    private const int MaxSubjectChars = 72;

    private static string CommitMessage(AgentRecord agent)
    {
        var items = string.Join(", ", agent.Context.WorkItems);
        var subject = agent.Context.WorkItems.Count > 0 ? $"{agent.TaskId}: {items}" : $"{agent.TaskId}: agent work";
        // A subject stays one readable line in `git log --oneline`; long work items go whole into the body.
        var body = "";
        if (subject.Length > MaxSubjectChars)
        {
            subject = subject[..(MaxSubjectChars - 3)].TrimEnd() + "...";
            body = $"Work items: {items}\n\n";
        }

        return $"{subject}\n\n{body}Committed by Mosaic Orchestrator for agent {agent.AgentId} ({agent.AgentType.ToString().ToLowerInvariant()}), attempt {agent.Attempt}.";
    }
}
