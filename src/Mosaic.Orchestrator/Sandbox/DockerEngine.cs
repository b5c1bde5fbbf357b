using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>
/// The Docker Engine the sandbox runs on, through its API at DOCKER_SOCKET (never the docker CLI: no shell, no parsing
/// of its output). One client for the service; the engine itself is the operator's.
/// </summary>
public sealed class DockerEngine(IOptions<SandboxOptions> options) : IDisposable
{
    private readonly Lazy<DockerClient> _client = new(() =>
        new DockerClientBuilder().WithEndpoint(new Uri($"unix://{options.Value.DockerSocket}")).Build());

    public IContainerOperations Containers => _client.Value.Containers;

    /// <summary>Null when the engine answers and SANDBOX_IMAGE is there, else what is wrong (readiness, and a spawn's refusal).</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!File.Exists(settings.DockerSocket))
        {
            return $"no Docker engine socket at {settings.DockerSocket} (DOCKER_SOCKET)";
        }

        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(5));
            await _client.Value.System.PingAsync(limit.Token);
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return $"the Docker engine at {settings.DockerSocket} does not answer: {ex.Message}";
        }

        try
        {
            await _client.Value.Images.InspectImageAsync(settings.Image, cancellationToken);
            return null;
        }
        catch (DockerImageNotFoundException)
        {
            return $"the sandbox image {settings.Image} (SANDBOX_IMAGE) is not on the engine; build it with scripts/sandbox-image.sh";
        }
        catch (DockerApiException ex)
        {
            return $"the Docker engine could not inspect {settings.Image}: {ex.Message}";
        }
    }

    /// <summary>The containers carrying every label given (running or not).</summary>
    public async Task<IList<ContainerListResponse>> ListAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var filter = labels.ToDictionary(l => $"{l.Key}={l.Value}", _ => true);
        return await _client.Value.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = filter } },
            cancellationToken);
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
