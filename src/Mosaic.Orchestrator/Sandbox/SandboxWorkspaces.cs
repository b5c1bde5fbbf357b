using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// The agent's repository in the sandbox: filled on the host from the cache (fetch of one branch, so no other agent's
/// commits are in it), handed to SANDBOX_USER; read back as a bundle that a container made as the agent, so every git
/// call that reads what the agent wrote runs inside the sandbox.
/// </summary>
public sealed class SandboxWorkspaces(IAgentProcesses processes, IOptions<SandboxOptions> sandbox, IOptions<OrchestratorOptions> options) : IIsolatedWorkspaces
{
    /// <summary>A bundle larger than this is refused: an agent must not fill the service's disk through it.</summary>
    public const long MaxBundleBytes = 2L << 30;

    // Inside the sandbox, as the agent: its own hooks and config can only fool itself. `git add` before the empty check,
    // no hook of its runs (one could plant a link where the bundle goes), and a bundle of HEAD over the base (none when
    // HEAD is the base).
    private const string CommitScript = """
        set -e
        git add --all
        if ! git diff --cached --quiet --no-ext-diff; then
          git -c core.hooksPath=/dev/null commit --quiet --no-verify --no-gpg-sign -m "$MOSAIC_COMMIT_MESSAGE"
        fi
        if [ "$(git rev-parse --verify HEAD^{commit})" != "$MOSAIC_BASE_COMMIT" ]; then
          git bundle create --quiet "$MOSAIC_BUNDLE" HEAD "^$MOSAIC_BASE_COMMIT"
        fi
        """;

    private readonly GitCommand _git = new(allowLocal: true, TimeSpan.FromSeconds(options.Value.GitTimeoutSeconds), options.Value.AgentNice);

    public async Task PrepareAsync(string workspace, string source, string branch, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(workspace)!);
        // No template: not even the sample hooks. The branch is HEAD's from the start; fetch may write it
        // (--update-head-ok).
        await _git.RunCheckedAsync(null, ["init", "--quiet", "--template=", $"--initial-branch={branch}", workspace], cancellationToken);
        await _git.RunCheckedAsync(workspace, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--update-head-ok", source, $"refs/heads/{branch}:refs/heads/{branch}"], cancellationToken);
        await _git.RunCheckedAsync(workspace, ["reset", "--hard", "--quiet", "--no-recurse-submodules", "HEAD"], cancellationToken);
        // The agent's own commits carry the service's identity, as the service's commit does.
        await _git.RunCheckedAsync(workspace, ["config", "user.name", options.Value.GitAuthorName], cancellationToken);
        await _git.RunCheckedAsync(workspace, ["config", "user.email", options.Value.GitAuthorEmail], cancellationToken);
        Ownership.GiveTree(workspace, sandbox.Value.User);
    }

    public async Task<IsolatedResult> BundleAsync(AgentRecord agent, string workspace, string baseCommit, string message, IReadOnlyDictionary<string, string> identity, CancellationToken cancellationToken)
    {
        var folder = AgentFolder.For(options.Value.FullDataDir, agent.AgentId);
        folder.CreateScratch();
        var bundle = Path.Combine(folder.Tmp, $"mosaic-result-{Guid.NewGuid():N}.bundle");
        var log = Path.Combine(folder.Root, $"commit-attempt-{agent.Attempt}.log");
        var environment = new Dictionary<string, string>(identity)
        {
            ["MOSAIC_COMMIT_MESSAGE"] = message,
            ["MOSAIC_BASE_COMMIT"] = baseCommit,
            ["MOSAIC_BUNDLE"] = bundle,
        };
        var request = new AgentProcessRequest(agent.AgentId, agent.TaskId, "/bin/sh", ["-c", CommitScript], workspace, log)
        {
            Environment = environment,
            Tail = new OutputTailOptions(2000),
        };
        var outcome = await processes.RunAsync(request, cancellationToken);
        outcome.ThrowIfStopped(cancellationToken);
        if (outcome.ExitCode != 0)
        {
            throw new GitException($"committing the agent's work in the sandbox failed (exit {outcome.ExitCode}): {outcome.Tail?.Trim()}", FailureReason.GitFailed);
        }

        // Nothing of the agent runs now (its containers are gone), so what is checked here stays true while it is read.
        var file = new FileInfo(bundle);
        if (!file.Exists)
        {
            return new IsolatedResult(null);
        }

        if (file.LinkTarget is not null || file.Length > MaxBundleBytes)
        {
            file.Delete();
            throw new GitException($"the sandbox's bundle of the agent's commits is not a regular file of at most {MaxBundleBytes >> 20} MiB", FailureReason.GitFailed);
        }

        return new IsolatedResult(bundle);
    }
}
