using System.Diagnostics;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Tests.Processes;

/// <summary>Children started at a niceness really run at it (read back by `nice`, which prints its own), and the
/// service's threads stay where they were.</summary>
public sealed class NicedStarterTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("niced-starter-").FullName;

    [Theory]
    [InlineData(7)]
    [InlineData(0)]
    public async Task A_child_runs_at_the_niceness_it_was_started_at(int nice)
    {
        using var child = await NicedStarter.StartAsync(new ProcessStartInfo("/usr/bin/nice") { RedirectStandardOutput = true, UseShellExecute = false }, nice);
        var printed = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();

        Assert.Equal(nice.ToString(System.Globalization.CultureInfo.InvariantCulture), printed.Trim());
        Assert.Equal(0, OwnNiceness()); // the service is not reniced by starting a niced child
    }

    [Fact]
    public async Task Starting_a_missing_program_fails_as_it_would_on_the_callers_thread()
    {
        await Assert.ThrowsAsync<System.ComponentModel.Win32Exception>(() =>
            NicedStarter.StartAsync(new ProcessStartInfo(Path.Combine(_folder, "no-such-program")) { UseShellExecute = false }, 5));
    }

    [Fact]
    public async Task Git_for_agents_runs_at_the_agents_niceness()
    {
        var git = new GitCommand(allowLocal: true, TimeSpan.FromSeconds(30), nice: 9);

        var result = await git.RunAsync(_folder, ["-c", "alias.show-nice=!nice", "show-nice"], CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal("9", result.Output.Trim());
    }

    [Fact]
    public async Task An_agent_runs_at_the_agents_niceness_in_its_own_session()
    {
        var niceFile = Path.Combine(_folder, "nice");
        var spec = new ProcessSpec(
            "/bin/sh",
            ["-c", $"nice > {niceFile}; cut -d' ' -f6 /proc/$$/stat >> {niceFile}"],
            _folder,
            new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
            $"MOSAIC_NICED_STARTER_TEST={Guid.NewGuid():N}",
            Path.Combine(_folder, "log"),
            LogMaxBytes: 1 << 16,
            Nice: 11);
        var pid = 0;

        var outcome = await ProcessLauncher.RunAsync(spec, TimeSpan.FromSeconds(2), started =>
        {
            pid = started.Pid;
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal(0, outcome.ExitCode);
        var lines = File.ReadAllLines(niceFile).Select(l => l.Trim()).ToArray();
        Assert.Equal("11", lines[0]);
        Assert.Equal(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), lines[1]); // setsid made it a session leader
    }

    // Field 19 of /proc/self/stat (after the parenthesised command name) is the niceness of the main thread.
    private static int OwnNiceness()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
