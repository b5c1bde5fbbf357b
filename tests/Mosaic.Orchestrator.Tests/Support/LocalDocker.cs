using System.Diagnostics;
using System.Net.Sockets;
using Docker.DotNet;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// The Docker engine that the sandbox's, the image's and the deployment's tests use: DOCKER_SOCKET (test.sh exports
/// the one it found or started), else /var/run/docker.sock. Those tests are skipped where no engine answers, and say so
/// (test.sh under CI fails instead).
/// </summary>
public static class LocalDocker
{
    private static readonly Lazy<bool> Answering = new(() => Ping(Socket));

    public static string Socket => Environment.GetEnvironmentVariable("DOCKER_SOCKET") is { Length: > 0 } socket ? socket : "/var/run/docker.sock";

    public static bool Answers => Answering.Value;

    /// <summary>Whether an executable of that name is on PATH.</summary>
    public static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, command)));

    /// <summary>Runs a program (the docker CLI, a script) against this engine and waits for it, killing it past the timeout.</summary>
    public static async Task<(int Exit, string Output, string Error)> RunAsync(
        string file, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Checkout.Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOCKER_HOST"] = "unix://" + Socket;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{file} {string.Join(' ', start.ArgumentList)} did not end within {timeout}: {await output}{await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>The engine's API, through the same client library the service uses.</summary>
    public static DockerClient Client => LazyClient.Value;

    private static readonly Lazy<DockerClient> LazyClient = new(() => new DockerClientBuilder().WithEndpoint(new Uri($"unix://{Socket}")).Build());

    private static bool Ping(string socket)
    {
        if (!File.Exists(socket))
        {
            return false;
        }

        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            Client.System.PingAsync(limit.Token).GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }
}

/// <summary>A test that needs a Docker engine that answers and the named programs on PATH; skipped, saying which is missing, otherwise.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute(params string[] commands)
    {
        if (!LocalDocker.Answers)
        {
            Skip = $"no Docker engine answers at {LocalDocker.Socket} (DOCKER_SOCKET)";
        }
        else if (commands.FirstOrDefault(c => !LocalDocker.OnPath(c)) is { } missing)
        {
            Skip = $"{missing} is not on PATH";
        }
    }
}

/// <summary>A theory that needs a Docker engine that answers; skipped, saying so, otherwise.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DockerTheoryAttribute : TheoryAttribute
{
    public DockerTheoryAttribute()
    {
        if (!LocalDocker.Answers)
        {
            Skip = $"no Docker engine answers at {LocalDocker.Socket} (DOCKER_SOCKET)";
        }
    }
}

/// <summary>The tests that build images on the engine run one at a time: two builds of the same image would race.</summary>
[CollectionDefinition(Name)]
public sealed class DockerImagesCollection
{
    public const string Name = "docker images";
}
