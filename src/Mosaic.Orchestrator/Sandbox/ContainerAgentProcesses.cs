using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// Agent processes in Docker containers, one per command: SANDBOX_USER (never root), every capability dropped,
/// no-new-privileges, a read-only root with a tmpfs /tmp, SANDBOX_MEMORY / SANDBOX_CPUS / SANDBOX_PIDS, no network of
/// its own (egress only through the service's proxy, see <see cref="EgressGate"/>), and of DATA_DIR only this run's
/// workspace, HOME, TMPDIR and prompt file, mounted at the paths the request names. A cancelled run is stopped
/// (SIGTERM, SANDBOX_STOP_TIMEOUT_SECONDS, SIGKILL) and every container is removed: the container's cgroup ends every
/// process it holds, including ones that left the session and cleared their environment. Containers carry
/// mosaic.agent-id and mosaic.node-id, so a restarted node finds and removes what a crash left.
/// </summary>
public sealed partial class ContainerAgentProcesses(
    DockerEngine docker,
    EgressGate egress,
    HostAgentProcesses host,
    NodeIdentity node,
    IOptions<SandboxOptions> sandboxOptions,
    IOptions<OrchestratorOptions> options,
    ILogger<ContainerAgentProcesses> logger) : IAgentProcesses
{
    public const string AgentLabel = "mosaic.agent-id";
    public const string NodeLabel = "mosaic.node-id";

    /// <summary>The image's own search path: the host's PATH names host folders that mean nothing inside.</summary>
    private const string ImagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public Task<string?> CheckAsync(string executable, CancellationToken cancellationToken) => docker.CheckAsync(cancellationToken);

    public async Task<AgentProcessOutcome> RunAsync(AgentProcessRequest request, CancellationToken cancellationToken)
    {
        var sandbox = sandboxOptions.Value;
        var settings = options.Value;
        var folder = AgentFolder.For(settings.FullDataDir, request.AgentId);
        folder.CreateScratch(request.FreshHome);
        folder.PlaceInHome(request.HomeFiles);
        Ownership.GiveTree(folder.Home, sandbox.User);
        Ownership.GiveTree(folder.Tmp, sandbox.User);

        var environment = AgentEnvironment.Build(settings.AgentEnvPassthrough, folder, request);
        environment["PATH"] = ImagePath;
        var binds = new List<string>
        {
            Bind(request.WorkingDirectory, writable: true),
            Bind(folder.Home, writable: true),
            Bind(folder.Tmp, writable: true),
        };
        if (File.Exists(folder.PromptFile))
        {
            binds.Add(Bind(folder.PromptFile, writable: false));
        }

        await using var way = await egress.OpenAsync(request.AgentId, cancellationToken);
        if (way is not null)
        {
            binds.Add(Bind(way.Folder, writable: false));
            foreach (var (name, value) in way.Environment)
            {
                environment[name] = value;
            }
        }

        var tail = request.Tail is { } kept ? new OutputTail(kept) : null;
        var onLine = OutputTail.Alongside(request.OnLine, tail);

        Directory.CreateDirectory(Path.GetDirectoryName(request.LogPath)!);
        using var log = new CappedLog(request.LogPath, settings.AgentLogMaxBytes);
        cancellationToken.ThrowIfCancellationRequested(); // killed before it began: start nothing
        var created = await CreateAsync(new CreateContainerParameters
        {
            Image = sandbox.Image,
            Cmd = [Path.GetFileName(request.Executable), .. request.Arguments],
            User = $"{sandbox.User}:{sandbox.User}",
            WorkingDir = request.WorkingDirectory,
            Env = [.. environment.Select(e => $"{e.Key}={e.Value}")],
            Labels = new Dictionary<string, string> { [AgentLabel] = request.AgentId.ToString(), [NodeLabel] = node.Node },
            AttachStdout = true,
            AttachStderr = true,
            HostConfig = new HostConfig
            {
                Binds = binds,
                ReadonlyRootfs = true,
                Tmpfs = new Dictionary<string, string> { ["/tmp"] = "rw,nosuid,nodev,size=512m" },
                CapDrop = ["ALL"],
                SecurityOpt = ["no-new-privileges"],
                Memory = sandbox.MemoryBytes,
                MemorySwap = sandbox.MemoryBytes, // no swap: the limit is the limit
                NanoCPUs = (long)(sandbox.Cpus * 1e9),
                PidsLimit = sandbox.Pids,
                NetworkMode = "none",
                // A real init as PID 1: it reaps what the agent orphans and passes the stop signal on.
                Init = true,
            },
        });
        var id = created.ID;
        try
        {
            using var output = await docker.Containers.AttachContainerAsync(id,
                new ContainerAttachParameters { Stream = true, Stdout = true, Stderr = true }, CancellationToken.None);
            var pump = PumpAsync(output, log, onLine);
            await docker.Containers.StartContainerAsync(id, new ContainerStartParameters(), CancellationToken.None);
            var root = await RootOfAsync(id);
            await (request.OnStarted ?? (_ => Task.CompletedTask))(root);

            var cancelled = false;
            long exitCode;
            try
            {
                exitCode = (await docker.Containers.WaitContainerAsync(id, cancellationToken)).StatusCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
                await StopAsync(id);
                exitCode = (await docker.Containers.WaitContainerAsync(id, CancellationToken.None)).StatusCode;
            }

            await Task.WhenAny(pump, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
            var state = (await docker.Containers.InspectContainerAsync(id, CancellationToken.None)).State;
            return new AgentProcessOutcome((int)exitCode, cancelled, cancelled ? [root.Pid] : [], tail?.Text)
            {
                OutOfMemory = state?.OOMKilled ?? false,
            };
        }
        finally
        {
            await RemoveAsync(id);
        }
    }

    public async Task<IReadOnlyList<int>> EndAsync(Guid agentId, int? rootPid, long? rootStartTicks)
    {
        var ended = new List<int>();
        foreach (var container in await docker.ListAsync(new Dictionary<string, string> { [AgentLabel] = agentId.ToString() }, CancellationToken.None))
        {
            if (container.State == "running")
            {
                var pid = (await docker.Containers.InspectContainerAsync(container.ID, CancellationToken.None)).State?.Pid ?? 0;
                await StopAsync(container.ID);
                ended.Add((int)pid);
            }

            await RemoveAsync(container.ID);
        }

        // Processes on the host with the agent's marker: left by a run from before the sandbox was turned on.
        return [.. ended.Union(await host.EndAsync(agentId, null, null))];
    }

    public async Task<IReadOnlyDictionary<Guid, int>> FindAgentsAsync(CancellationToken cancellationToken)
    {
        var found = new Dictionary<Guid, int>(await host.FindAgentsAsync(cancellationToken));
        foreach (var container in await docker.ListAsync(new Dictionary<string, string> { [NodeLabel] = node.Node }, cancellationToken))
        {
            if (container.Labels is { } labels && labels.TryGetValue(AgentLabel, out var label) && Guid.TryParse(label, out var agentId))
            {
                found[agentId] = found.GetValueOrDefault(agentId) + 1;
            }
        }

        return found;
    }

    /// <summary>An engine that went away or refuses the container: the attempt fails as `sandbox-unavailable`, never runs elsewhere.</summary>
    private async Task<CreateContainerResponse> CreateAsync(CreateContainerParameters parameters)
    {
        try
        {
            return await docker.Containers.CreateContainerAsync(parameters, CancellationToken.None);
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException)
        {
            throw new AttemptFailedException(FailureReason.SandboxUnavailable, $"the Docker engine could not create the sandbox: {ex.Message}");
        }
    }

    private static string Bind(string path, bool writable) => $"{path}:{path}:{(writable ? "rw" : "ro")}";

    private static async Task PumpAsync(MultiplexedStream output, CappedLog log, OutputLineHandler? onLine)
    {
        var stdout = onLine is null ? null : new LineSplitter(onLine, standardError: false);
        var stderr = onLine is null ? null : new LineSplitter(onLine, standardError: true);
        var buffer = new byte[8192];
        while (true)
        {
            var read = await output.ReadOutputAsync(buffer, 0, buffer.Length, CancellationToken.None);
            if (read.EOF)
            {
                break;
            }

            log.Write(buffer.AsSpan(0, read.Count));
            (read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout)?.Feed(buffer.AsSpan(0, read.Count));
        }

        stdout?.Flush();
        stderr?.Flush();
    }

    /// <summary>The container's init as the host sees it: what the record keeps as the agent's process.</summary>
    private async Task<ProcessInfo> RootOfAsync(string id)
    {
        var pid = (int)((await docker.Containers.InspectContainerAsync(id, CancellationToken.None)).State?.Pid ?? 0);
        return ProcessTable.Read(pid) ?? new ProcessInfo(pid, 0, pid, pid, 'R', 0);
    }

    private async Task StopAsync(string id)
    {
        try
        {
            await docker.Containers.StopContainerAsync(id,
                new ContainerStopParameters { WaitBeforeKillSeconds = (uint)sandboxOptions.Value.StopTimeoutSeconds }, CancellationToken.None);
        }
        catch (DockerContainerNotFoundException)
        {
            // already gone
        }
    }

    private async Task RemoveAsync(string id)
    {
        try
        {
            await docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None);
        }
        catch (DockerContainerNotFoundException)
        {
            // already gone
        }
        catch (DockerApiException ex)
        {
            // "removal already in progress" when a kill and the run's own end meet; the other one finishes it.
            LogRemoveFailed(logger, id[..Math.Min(12, id.Length)], ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not remove sandbox container {Container}: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string container, string reason);
}
