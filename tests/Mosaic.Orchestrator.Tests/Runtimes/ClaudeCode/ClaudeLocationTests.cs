using System.Text.Json;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;

/// <summary>
/// Where the claude CLI is found when CLAUDE_PATH is not set, and what readiness says when it is not found: a new user
/// who ran scripts/setup.sh needs no setting, and one who has neither key nor CLI is told both at once.
/// </summary>
public sealed class ClaudeLocationTests
{
    private static string Executable(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\necho '0.0.1 (stand-in)'\n");
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static string Checkout()
    {
        var checkout = TempDirectory.Create("claude-location");
        File.WriteAllText(Path.Combine(checkout, "Mosaic.Orchestrator.slnx"), "<Solution />\n");
        return checkout;
    }

    [Fact]
    public void Without_claude_on_PATH_the_default_is_the_copy_setup_installed_in_the_checkout_of_the_executable()
    {
        var checkout = Checkout();
        var installed = Executable(Path.Combine(checkout, ".tools", "claude", "node_modules", ".bin", "claude"));
        var runSh = Directory.CreateDirectory(Path.Combine(checkout, ".build", "service")).FullName;
        var dotnetBuild = Directory.CreateDirectory(Path.Combine(checkout, "src", "Mosaic.Orchestrator", "bin", "Debug", "net10.0")).FullName;
        var emptyPath = Directory.CreateDirectory(Path.Combine(checkout, "empty-bin")).FullName;

        Assert.Equal(installed, ClaudeLocation.Find(emptyPath, runSh));
        Assert.Equal(installed, ClaudeLocation.Find(null, dotnetBuild));

        // claude on PATH wins (a user's own install), and stays a name: it is looked up again at each probe.
        var userBin = Path.GetDirectoryName(Executable(Path.Combine(checkout, "user-bin", "claude")))!;
        Assert.Equal("claude", ClaudeLocation.Find($"{emptyPath}:{userBin}", runSh));

        // A file that is not executable is not the CLI; nothing found leaves the default at "claude".
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(installed, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Null(ClaudeLocation.Find(emptyPath, runSh));
        }
    }

    [Fact]
    public void The_search_stops_at_the_top_of_the_checkout()
    {
        var outside = TempDirectory.Create("claude-outside");
        Executable(Path.Combine(outside, ".tools", "claude", "node_modules", ".bin", "claude"));
        var checkout = Path.Combine(outside, "clone");
        Directory.CreateDirectory(checkout);
        File.WriteAllText(Path.Combine(checkout, "Mosaic.Orchestrator.slnx"), "<Solution />\n");
        var service = Directory.CreateDirectory(Path.Combine(checkout, ".build", "service")).FullName;

        Assert.Null(ClaudeLocation.Find("", service));
    }

    [Fact]
    public void This_build_finds_the_cli_without_CLAUDE_PATH()
    {
        // The test binaries sit in tests/.../bin inside the checkout whose .tools setup.sh filled (or claude is on PATH).
        var path = ClaudeBinary.Resolve(new ClaudeCodeOptions().ClaudePath);
        Assert.NotNull(path);
        if (new ClaudeCodeOptions().ClaudePath != "claude")
        {
            Assert.Equal(Path.GetFullPath(ClaudeCli.Path), path);
        }
    }

    [Fact]
    public async Task Readiness_names_a_missing_key_and_a_missing_cli_together_and_says_how_to_install_the_cli()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using (var host = await ClaudeCodeRunTests.StartAsync(api, s =>
        {
            s["CLAUDE_API_KEY"] = null;
            s["CLAUDE_PATH"] = "/nonexistent/claude";
        }))
        {
            var (code, detail) = await RuntimeCheckAsync(host);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
            Assert.Contains("CLAUDE_API_KEY is not set", detail, StringComparison.Ordinal);
            Assert.Contains("CLAUDE_PATH=/nonexistent/claude is not an executable file", detail, StringComparison.Ordinal);
            Assert.Contains("scripts/setup.sh", detail, StringComparison.Ordinal);
            Assert.Contains("npm install @anthropic-ai/claude-code", detail, StringComparison.Ordinal);
        }

        await using (var host = await ClaudeCodeRunTests.StartAsync(api, s => s["CLAUDE_PATH"] = "no-such-claude"))
        {
            var (code, detail) = await RuntimeCheckAsync(host);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
            Assert.DoesNotContain("CLAUDE_API_KEY", detail, StringComparison.Ordinal);
            Assert.Contains("'no-such-claude' is not on PATH and there is no .tools/claude/node_modules/.bin/claude", detail, StringComparison.Ordinal);
        }

        // CLAUDE_PATH not set at all: the copy that setup.sh installed is found, and the runtime is ready.
        await using (var host = await ClaudeCodeRunTests.StartAsync(api, s => s.Remove("CLAUDE_PATH")))
        {
            var (code, detail) = await RuntimeCheckAsync(host);
            Assert.True(code == HttpStatusCode.OK, detail);
            Assert.Contains("2.1.332", detail, StringComparison.Ordinal);
        }
    }

    private static async Task<(HttpStatusCode Code, string Detail)> RuntimeCheckAsync(TestHost host)
    {
        using var response = await host.Client.GetAsync("/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("checks").GetProperty("runtime").GetProperty("detail").GetString() ?? "");
    }
}
