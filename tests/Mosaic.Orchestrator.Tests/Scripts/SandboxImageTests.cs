using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Scripts;

/// <summary>
/// The sandbox image that scripts/sandbox-image.sh builds, run the way the sandbox runs it: uid 10001, read-only root,
/// tmpfs /tmp, no capabilities, no-new-privileges, no network. The pinned claude CLI runs, git commits, and the
/// entrypoint's bridge carries HTTP from 127.0.0.1 inside to the proxy's Unix socket outside, and nothing else leaves.
/// </summary>
[Collection(DockerImagesCollection.Name)]
public sealed partial class SandboxImageTests
{
    private static readonly string[] Hardened =
    [
        "run", "--rm", "--read-only", "--tmpfs", "/tmp", "--user", "10001:10001", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--network", "none", "--memory", "512m", "--pids-limit", "128",
    ];

    private static readonly Lazy<Task<string>> Built = new(BuildAsync);

    [DockerFact("docker")]
    public async Task The_script_builds_the_versioned_image_and_the_pinned_claude_runs_in_it_as_10001_without_a_network()
    {
        var image = await Built.Value;
        var claudeVersion = ClaudeVersion().Match(await File.ReadAllTextAsync(Checkout.File("scripts", "setup.sh"))).Groups[1].Value;
        Assert.Equal($"-claude{claudeVersion}", image[image.LastIndexOf("-claude", StringComparison.Ordinal)..]);

        var run = await Docker([.. Hardened, "mosaic-agent:latest", "bash", "-c", "id -un; id -u; claude --version"]);

        Assert.Equal(["agent", "10001", $"{claudeVersion} (Claude Code)"], run.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var labels = await Docker(["image", "inspect", "-f", "{{index .Config.Labels \"io.mosaic.claude-code.version\"}}", image]);
        Assert.Equal(claudeVersion, labels.Trim());
        // A second run of the script finds the image and only tags it again.
        var again = await LocalDocker.RunAsync("bash", [Checkout.File("scripts", "sandbox-image.sh")], TimeSpan.FromSeconds(60));
        Assert.True(again.Exit == 0 && again.Output.Trim() == image && !again.Error.Contains("building", StringComparison.Ordinal), again.Output + again.Error);
    }

    [DockerFact("docker")]
    public async Task Git_commits_in_a_mounted_workspace_as_a_uid_without_a_passwd_entry_and_the_root_filesystem_stays_read_only()
    {
        await Built.Value;
        var workspace = TempDirectory.Create("sandbox-ws");
        OpenToAll(workspace);

        var run = await Docker([.. Hardened, "--user", "4242:4242", "-v", $"{workspace}:/workspace", "mosaic-agent:latest", "bash", "-c",
            "git init -q . && echo hello > a.txt && git add a.txt && git commit -qm first && git log --format='%an %s'; " +
            "touch /usr/local/bin/x 2>/dev/null || echo read-only; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status"]);

        Assert.Contains("Mosaic Agent first", run, StringComparison.Ordinal);
        Assert.Contains("read-only", run, StringComparison.Ordinal);
        Assert.Matches(@"CapEff:\s+0+\n", run);
        Assert.Matches(@"NoNewPrivs:\s+1", run);
        Assert.True(File.Exists(Path.Combine(workspace, ".git", "HEAD")));
    }

    [DockerFact("docker")]
    public async Task The_entrypoint_bridges_127_0_0_1_to_the_proxy_socket_and_sets_the_proxy_variables()
    {
        await Built.Value;
        var folder = TempDirectory.Create("sandbox-proxy");
        var path = Path.Combine(folder, "proxy.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(8);
        // The container's uid is not the test's: the socket must be open to it, as the service's proxy socket is.
        OpenToAll(path);
        var requests = new List<string>();
        using var stop = new CancellationTokenSource();
        var proxy = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var connection = await listener.AcceptAsync(stop.Token);
                var head = await ReadHeadAsync(connection, stop.Token);
                lock (requests)
                {
                    requests.Add(head.Split("\r\n")[0]);
                }

                await connection.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\nvia the proxy\n"), stop.Token);
                connection.Shutdown(SocketShutdown.Both);
            }
        });

        var run = await Docker([.. Hardened, "-v", $"{path}:/run/mosaic/proxy.sock", "-e", "MOSAIC_PROXY_SOCKET=/run/mosaic/proxy.sock",
            "-e", "MOSAIC_PROXY_PORT=3999", "mosaic-agent:latest", "bash", "-c",
            "echo \"$HTTPS_PROXY $http_proxy\"; curl -sS --max-time 10 http://model.example.test/v1/messages; " +
            "curl -sS --noproxy '*' --max-time 5 http://model.example.test/ 2>/dev/null || echo \"direct: exit $?\""]);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => proxy);

        Assert.Equal(["http://127.0.0.1:3999 http://127.0.0.1:3999", "via the proxy", "direct: exit 6"], run.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["GET http://model.example.test/v1/messages HTTP/1.1"], requests);
    }

    [DockerFact("docker")]
    public async Task The_entrypoint_refuses_to_start_the_command_when_the_proxy_socket_is_missing()
    {
        await Built.Value;

        var run = await LocalDocker.RunAsync("docker", [.. Hardened, "-e", "MOSAIC_PROXY_SOCKET=/run/mosaic/none.sock", "mosaic-agent:latest", "echo", "ran"], TimeSpan.FromSeconds(60));

        Assert.Equal(125, run.Exit);
        Assert.DoesNotContain("ran", run.Output, StringComparison.Ordinal);
        Assert.Contains("is not a socket", run.Error, StringComparison.Ordinal);
    }

    /// <summary>rwx for everyone: the container's uid is not the test's.</summary>
    private static void OpenToAll(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(path, (UnixFileMode)0b111_111_111);
        }
    }

    private static async Task<string> BuildAsync()
    {
        var build = await LocalDocker.RunAsync("bash", [Checkout.File("scripts", "sandbox-image.sh")], TimeSpan.FromMinutes(8));
        Assert.True(build.Exit == 0, build.Output + build.Error);
        return build.Output.Trim();
    }

    private static async Task<string> Docker(string[] arguments)
    {
        var run = await LocalDocker.RunAsync("docker", arguments, TimeSpan.FromSeconds(60));
        Assert.True(run.Exit == 0, $"docker {string.Join(' ', arguments)}: {run.Output}{run.Error}");
        return run.Output;
    }

    private static async Task<string> ReadHeadAsync(Socket connection, CancellationToken cancellationToken)
    {
        var head = new StringBuilder();
        var buffer = new byte[1024];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await connection.ReceiveAsync(buffer, cancellationToken);
            if (read == 0)
            {
                break;
            }

            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return head.ToString();
    }

    [GeneratedRegex(@"(?m)^CLAUDE_CODE_VERSION=(\S+)$")]
    private static partial Regex ClaudeVersion();
}
