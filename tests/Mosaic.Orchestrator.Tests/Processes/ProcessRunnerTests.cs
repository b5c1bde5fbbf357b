using System.Globalization;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Processes;

/// <summary>Short-lived helpers (git, a version probe) through Processes/, with real processes.</summary>
public sealed class ProcessRunnerTests : IDisposable
{
    private readonly string _folder = TempDirectory.Create("process-runner");

    private static CapturedProcess Shell(string script, TimeSpan? timeout = null) =>
        new("/bin/sh", ["-c", script], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["ONLY_THIS"] = "given" }, timeout ?? TimeSpan.FromSeconds(30));

    [Fact]
    public async Task It_captures_both_outputs_the_exit_code_and_only_the_given_environment()
    {
        var ran = await ProcessRunner.RunAsync(Shell("env; echo oops >&2; pwd; exit 4") with { WorkingDirectory = _folder }, CancellationToken.None);

        Assert.Equal(4, ran.ExitCode);
        Assert.False(ran.TimedOut);
        var printed = ran.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("ONLY_THIS=given", printed);
        Assert.DoesNotContain(printed, line => line.StartsWith("HOME=", StringComparison.Ordinal));
        Assert.Equal(_folder, printed[^1]);
        Assert.Equal("oops\n", ran.Error);
    }

    [Fact]
    public async Task A_cap_keeps_the_start_and_still_drains_the_rest()
    {
        var ran = await ProcessRunner.RunAsync(Shell("echo first; head -c 1000000 /dev/zero | tr '\\0' 'a'") with { MaxOutputChars = 8 }, CancellationToken.None);

        Assert.Equal(0, ran.ExitCode);
        Assert.Equal("first\naa", ran.Output);
    }

    [Fact]
    public async Task Stdin_is_closed()
    {
        var ran = await ProcessRunner.RunAsync(Shell("cat; echo done"), CancellationToken.None);

        Assert.Equal("done\n", ran.Output);
    }

    [Fact]
    public async Task It_starts_at_the_given_niceness()
    {
        var ran = await ProcessRunner.RunAsync(Shell("nice") with { Nice = 4 }, CancellationToken.None);

        Assert.Equal("4", ran.Output.Trim());
    }

    [Fact]
    public async Task The_time_limit_ends_the_whole_tree()
    {
        var childFile = Path.Combine(_folder, "child");
        var ran = await ProcessRunner.RunAsync(Shell($"sleep 300 & echo $! > {childFile}; wait", TimeSpan.FromMilliseconds(500)), CancellationToken.None);

        Assert.True(ran.TimedOut);
        var child = int.Parse(File.ReadAllText(childFile).Trim(), CultureInfo.InvariantCulture);
        await Wait.UntilAsync(() => !ProcessTable.IsAlive(child), "the child to end");
    }

    [Fact]
    public async Task A_cancelled_caller_gets_the_cancellation_and_the_process_ends()
    {
        var pidFile = Path.Combine(_folder, "pid");
        using var stop = new CancellationTokenSource();
        var run = ProcessRunner.RunAsync(Shell($"echo $$ > {pidFile}; exec sleep 300"), stop.Token);
        await Wait.UntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, "the helper to start");

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        Assert.False(ProcessTable.IsAlive(pid));
    }

    [Fact]
    public async Task A_missing_program_throws_as_process_start_does()
    {
        var missing = new CapturedProcess(Path.Combine(_folder, "no-such-program"), [], new Dictionary<string, string>(), TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<System.ComponentModel.Win32Exception>(() => ProcessRunner.RunAsync(missing, CancellationToken.None));
    }

    [Fact]
    public async Task Finished_helpers_leave_no_pipe_open_without_waiting_for_a_garbage_collection()
    {
        static int Pipes() => new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
            .Count(f => f.LinkTarget?.StartsWith("pipe:", StringComparison.Ordinal) == true);

        await ProcessRunner.RunAsync(Shell("echo warm"), CancellationToken.None);
        var before = Pipes();
        for (var i = 0; i < 40; i++)
        {
            await ProcessRunner.RunAsync(Shell("echo out; echo err >&2"), CancellationToken.None);
            await ProcessRunner.RunStreamingAsync(Shell("echo line"), 100, (_, _) => { }, CancellationToken.None);
        }

        // Before, each run's stdout and stderr pipes stayed open until a collection finalized them (two per run).
        Assert.InRange(Pipes(), 0, before + 10); // other tests of this run may hold a few meanwhile
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
