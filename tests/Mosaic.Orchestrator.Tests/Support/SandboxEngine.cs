using Docker.DotNet.Models;
using Mosaic.Orchestrator.Sandbox;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// The Docker engine the sandbox tests use: DOCKER_SOCKET (test.sh starts one and builds the image when none
/// answers). Sandbox tests run one at a time: each starts containers with limits, and two cores are few.
/// </summary>
public static class SandboxEngine
{
    public const string Collection = "docker sandbox";

    public static string Socket => LocalDocker.Socket;

    public static void Configure(Dictionary<string, string?> settings, string command)
    {
        settings["SANDBOX_ENABLED"] = "true";
        settings["DOCKER_SOCKET"] = Socket;
        settings["AGENT_COMMAND"] = command;
        settings["SANDBOX_STOP_TIMEOUT_SECONDS"] = "2";
        settings["AGENT_TIMEOUT_MINUTES"] = "5";
    }

    /// <summary>The containers of one agent on the engine, running or not.</summary>
    public static async Task<IList<ContainerListResponse>> ContainersOfAsync(TestHost host, Guid agentId) =>
        await LocalDocker.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ContainerAgentProcesses.AgentLabel}={agentId}"] = true } },
        });

    /// <summary>The host's processes whose command line contains <paramref name="text"/>.</summary>
    public static List<int> ProcessesRunning(string text) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => int.TryParse(name, out _))
            .Where(name =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{name}/cmdline").Replace('\0', ' ').Contains(text, StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .Select(name => int.Parse(name!, System.Globalization.CultureInfo.InvariantCulture))];
}

[CollectionDefinition(SandboxEngine.Collection, DisableParallelization = true)]
public sealed class SandboxEngineCollection;
