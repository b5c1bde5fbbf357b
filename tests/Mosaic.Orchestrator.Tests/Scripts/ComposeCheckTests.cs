using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Scripts;

/// <summary>
/// The deployment (issue 17): scripts/compose-check.sh builds the service's image from the Dockerfile, brings
/// compose.yaml up with Valkey, checks /health, spawns an agent of the command runtime on a repository mounted into the
/// service's container, waits until it completes with its branch pushed, and brings compose down.
/// </summary>
[Collection(DockerImagesCollection.Name)]
public sealed class ComposeCheckTests
{
    [DockerFact("docker", "docker-compose")]
    public async Task The_image_and_compose_with_Valkey_run_an_agent_to_completion()
    {
        var project = $"mosaic-check-{Guid.NewGuid():N}"[..24];

        var check = await LocalDocker.RunAsync("bash", [Checkout.File("scripts", "compose-check.sh")], TimeSpan.FromMinutes(8),
            new Dictionary<string, string> { ["COMPOSE_CHECK_PROJECT"] = project });

        Assert.True(check.Exit == 0, check.Output + check.Error);
        Assert.Matches(@"/health \{""status"":""healthy""", check.Error);
        Assert.Matches(@"agent \S+ completed in \d+ s and pushed agent/compose-check-", check.Error);
        // Nothing of the stack is left behind.
        var left = await LocalDocker.RunAsync("docker", ["ps", "-a", "-q", "--filter", $"label=com.docker.compose.project={project}"], TimeSpan.FromSeconds(30));
        Assert.Equal("", left.Output.Trim());
        var volumes = await LocalDocker.RunAsync("docker", ["volume", "ls", "-q", "--filter", $"label=com.docker.compose.project={project}"], TimeSpan.FromSeconds(30));
        Assert.Equal("", volumes.Output.Trim());
    }
}
