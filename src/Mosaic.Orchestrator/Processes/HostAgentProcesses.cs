using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// Agent processes on this host: each command leads a session of its own (setsid), at AGENT_NICE (its autogroup
/// too), with stdin closed, the agent's marker and allowlisted environment, its private HOME and TMPDIR, its output
/// in a log capped at AGENT_LOG_MAX_BYTES; a cancelled run and the leftovers of a finished one are ended with
/// SIGTERM, KILL_GRACE_SECONDS, SIGKILL.
/// </summary>
public sealed class HostAgentProcesses(IOptions<OrchestratorOptions> options) : IAgentProcesses
{
    public Task<string?> CheckAsync(string executable, CancellationToken cancellationToken) =>
        Task.FromResult(File.Exists(executable) && File.Exists(ProcessLauncher.SetsidPath)
            ? null
            : $"{executable} or {ProcessLauncher.SetsidPath} is missing");

    public async Task<AgentProcessOutcome> RunAsync(AgentProcessRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var folder = AgentFolder.For(settings.FullDataDir, request.AgentId);
        folder.CreateScratch(request.FreshHome);
        folder.PlaceInHome(request.HomeFiles);

        var tail = request.Tail is { } kept ? new OutputTail(kept) : null;
        var onLine = OutputTail.Alongside(request.OnLine, tail);

        var spec = new ProcessSpec(
            request.Executable,
            request.Arguments,
            request.WorkingDirectory,
            AgentEnvironment.Build(settings.AgentEnvPassthrough, folder, request),
            AgentMarker.For(request.AgentId),
            request.LogPath,
            settings.AgentLogMaxBytes,
            settings.AgentNice,
            onLine);
        var outcome = await ProcessLauncher.RunAsync(spec, settings.KillGrace, request.OnStarted ?? (_ => Task.CompletedTask), cancellationToken);
        return new AgentProcessOutcome(outcome.ExitCode, outcome.Cancelled, outcome.SignalledPids, tail?.Text);
    }

    public Task<IReadOnlyList<int>> EndAsync(Guid agentId, int? rootPid, long? rootStartTicks) =>
        ProcessTree.TerminateAsync(new ProcessTreeSelector(rootPid, rootStartTicks, AgentMarker.For(agentId)), options.Value.KillGrace);

    public Task<IReadOnlyDictionary<Guid, int>> FindAgentsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<Guid, int>>(ProcessTable.AgentProcesses().ToDictionary(a => a.Key, a => a.Value.Count));
}
