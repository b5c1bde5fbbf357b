using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Gates;

/// <summary>
/// The gates run here, as the repository declares them in `.mosaic/gates.yml` at its base commit (an agent cannot
/// weaken its own gates by editing the file on its branch), over GATES_CONFIG's per-repository and default commands.
/// A gate with no command is not-configured: it fails only under strict. The AI review asks the runtime.
/// </summary>
public sealed class LocalGateJudge(
    IOptions<GateOptions> options,
    IWorkspaceInspector inspector,
    LocalGateRunner local,
    AiReviewGate review) : IGateJudge
{
    private static readonly IReadOnlyDictionary<string, GateCommand> NoCommands = new Dictionary<string, GateCommand>();

    public async IAsyncEnumerable<GateVerdict> JudgeAsync(GateRequest request, string phase, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var agent = request.Agent;
        var gates = options.Value.GatesOf(agent).Where(g => GateCatalog.PhaseOf(g) == phase).ToList();
        var commands = NoCommands;
        // Only a phase with a command gate reads the gate files (a `git show` per read).
        if (gates.Any(g => g != GateCatalog.AiReview))
        {
            var (read, broken) = await CommandsForAsync(agent, cancellationToken);
            if (broken is not null)
            {
                // Another agent run cannot fix the base's gate file.
                yield return new GateVerdict(new GateResult("config", phase, "failed", false, 0, request.Round,
                    $"{GatesFile.RepositoryPath} at the base commit: {broken}"), FailureReason.GateFailed("config", fixable: false));
                yield break;
            }

            commands = read;
        }

        foreach (var gate in gates)
        {
            var verdict = gate switch
            {
                GateCatalog.AiReview => await review.JudgeAsync(request, cancellationToken),
                _ when commands.TryGetValue(gate, out var command) => Judged(await local.RunAsync(agent, gate, command, agent.Workspace!, request.Round, cancellationToken)),
                _ => Judged(new GateResult(gate, phase, "not-configured", agent.GateProfile != GateProfile.Strict, 0, request.Round,
                    agent.GateProfile == GateProfile.Strict ? "no command is configured, and the strict profile requires every gate" : "no command is configured")),
            };
            yield return verdict;
            if (verdict.Failure is not null)
            {
                yield break;
            }
        }
    }

    private static GateVerdict Judged(GateResult result) => new(result, result.Passed ? null : FailureReason.GateFailed(result.Gate));

    /// <summary>GATES_CONFIG's defaults, then its entries for this repository, then the repository's own file (wins per gate).</summary>
    private async Task<(IReadOnlyDictionary<string, GateCommand> Commands, string? Problem)> CommandsForAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        var merged = new Dictionary<string, GateCommand>(StringComparer.Ordinal);
        try
        {
            if (options.Value.GatesConfig is { Length: > 0 } file)
            {
                var config = GatesFile.LoadConfig(await File.ReadAllTextAsync(file, cancellationToken));
                Merge(merged, config.Defaults);
                // Matched without credentials, a trailing slash or ".git", as people write URLs in config files.
                var wanted = Normalize(agent.Context.Repository);
                foreach (var (_, forRepository) in config.Repositories.Where(r => Normalize(r.Key) == wanted))
                {
                    Merge(merged, forRepository);
                }
            }

            if (await inspector.ReadAtBaseAsync(agent, GatesFile.RepositoryPath, cancellationToken) is { } declared)
            {
                Merge(merged, GatesFile.LoadRepository(declared));
            }
        }
        catch (GateConfigException ex)
        {
            return (NoCommands, ex.Message);
        }

        return (merged, null);

        static string Normalize(string url)
        {
            var plain = RepositoryAddress.SplitCredentials(url).Url.TrimEnd('/');
            return plain.EndsWith(".git", StringComparison.OrdinalIgnoreCase) ? plain[..^4] : plain;
        }

        static void Merge(Dictionary<string, GateCommand> into, IReadOnlyDictionary<string, GateCommand> from)
        {
            foreach (var (name, command) in from)
            {
                into[name] = command;
            }
        }
    }
}
