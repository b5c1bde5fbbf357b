using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Processes;

/// <summary>The seam every agent process goes through, on this host, with real processes.</summary>
public sealed class HostAgentProcessesTests : IDisposable
{
    private readonly string _dataDir = TempDirectory.Create("agent-processes");
    private readonly Guid _agentId = Guid.NewGuid();

    private HostAgentProcesses Processes(Action<OrchestratorOptions>? configure = null)
    {
        var settings = new OrchestratorOptions { DataDir = _dataDir, KillGraceSeconds = 1, AgentNice = 5 };
        configure?.Invoke(settings);
        return new HostAgentProcesses(Options.Create(settings));
    }

    private AgentFolder Folder => AgentFolder.For(_dataDir, _agentId);

    private AgentProcessRequest Shell(string script) =>
        new(_agentId, "T-seam", "/bin/sh", ["-c", script], _dataDir, Folder.AttemptLog(1));

    [Fact]
    public async Task The_process_really_has_the_agents_environment_and_nothing_else_of_the_service()
    {
        var secret = $"MOSAIC_SEAM_SECRET_{Guid.NewGuid():N}";
        var claudeInternal = $"CLAUDE_CODE_SEAM_TEST_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(secret, "do-not-leak");
        Environment.SetEnvironmentVariable(claudeInternal, "do-not-leak");
        Environment.SetEnvironmentVariable("MOSAIC_SEAM_PASSED", "visible");
        try
        {
            var processes = Processes(s => s.AgentEnvPassthrough = $"MOSAIC_SEAM_PASSED,{claudeInternal}");
            using var stop = new CancellationTokenSource();
            Dictionary<string, string>? environ = null;
            var outcome = await processes.RunAsync(Shell("exec sleep 30") with
            {
                Environment = new Dictionary<string, string> { ["MOSAIC_GATE"] = "lint" },
                OnStarted = async started =>
                {
                    // The environment as the kernel holds it for the running agent, once setsid and sh have exec'd into
                    // sleep (in the middle of an exec the file reads empty).
                    byte[] bytes = [];
                    await Wait.UntilAsync(async () =>
                        (await File.ReadAllTextAsync($"/proc/{started.Pid}/comm")).Trim() == "sleep"
                        && (bytes = await File.ReadAllBytesAsync($"/proc/{started.Pid}/environ")).Length > 0, "the agent's sleep");
                    environ = Encoding.UTF8.GetString(bytes)
                        .Split('\0', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1]);
                    await stop.CancelAsync();
                },
            }, stop.Token);

            Assert.True(outcome.Cancelled);
            Assert.NotNull(environ);
            Assert.Equal(_agentId.ToString(), environ["MOSAIC_AGENT_ID"]);
            Assert.Equal("T-seam", environ["MOSAIC_TASK_ID"]);
            Assert.Equal(Folder.Home, environ["HOME"]);
            Assert.Equal(Folder.Tmp, environ["TMPDIR"]);
            Assert.Equal("lint", environ["MOSAIC_GATE"]);
            Assert.Equal("visible", environ["MOSAIC_SEAM_PASSED"]);
            Assert.True(environ.ContainsKey("PATH"));
            Assert.DoesNotContain(secret, environ.Keys);
            Assert.DoesNotContain(claudeInternal, environ.Keys);
            Assert.True(Directory.Exists(Folder.Home) && Directory.Exists(Folder.Tmp));
        }
        finally
        {
            Environment.SetEnvironmentVariable(secret, null);
            Environment.SetEnvironmentVariable(claudeInternal, null);
            Environment.SetEnvironmentVariable("MOSAIC_SEAM_PASSED", null);
        }
    }

    [Fact]
    public async Task Output_goes_to_the_log_and_the_tail_keeps_the_last_characters_of_the_chosen_stream()
    {
        var lines = new List<string>();
        var outcome = await Processes().RunAsync(Shell("for i in $(seq 1 500); do echo out-$i; echo err-$i >&2; done; exit 3") with
        {
            Tail = new OutputTailOptions(14, OutputStreams.StandardError),
            OnLine = (line, standardError) =>
            {
                lock (lines)
                {
                    lines.Add(Encoding.UTF8.GetString(line));
                }
            },
        }, CancellationToken.None);

        Assert.Equal(3, outcome.ExitCode);
        Assert.False(outcome.Cancelled);
        Assert.Equal("err-499\nerr-500\n"[^14..], outcome.Tail);
        Assert.Equal(1000, lines.Count);
        var log = await File.ReadAllTextAsync(Folder.AttemptLog(1));
        Assert.Contains("out-500\n", log);
        Assert.Contains("err-500\n", log);
    }

    [Fact]
    public async Task No_tail_was_asked_for_none_is_kept()
    {
        var outcome = await Processes().RunAsync(Shell("echo something"), CancellationToken.None);

        Assert.Equal(0, outcome.ExitCode);
        Assert.Null(outcome.Tail);
    }

    [Fact]
    public async Task The_log_is_capped_at_agent_log_max_bytes()
    {
        await Processes(s => s.AgentLogMaxBytes = 2048).RunAsync(Shell("head -c 100000 /dev/zero | tr '\\0' 'a'"), CancellationToken.None);

        var log = await File.ReadAllTextAsync(Folder.AttemptLog(1));
        Assert.InRange(log.Length, 2048, 2048 + 100);
        Assert.Contains("log truncated", log);
    }

    [Fact]
    public async Task It_runs_at_agent_nice_in_a_session_of_its_own_with_stdin_closed()
    {
        var outcome = await Processes(s => s.AgentNice = 6).RunAsync(Shell("nice; cut -d' ' -f6 /proc/$$/stat; echo $$; cat; echo stdin-closed") with
        {
            Tail = new OutputTailOptions(1000, OutputStreams.StandardOutput),
        }, CancellationToken.None);

        var printed = outcome.Tail!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("6", printed[0]);
        Assert.Equal(printed[2], printed[1]); // the session is its own
        Assert.Equal("stdin-closed", printed[3]);
    }

    [Fact]
    public async Task A_fresh_home_is_empty_and_tmp_is_kept()
    {
        Folder.CreateScratch();
        await File.WriteAllTextAsync(Path.Combine(Folder.Home, "planted"), "x");
        await File.WriteAllTextAsync(Path.Combine(Folder.Tmp, "kept"), "x");

        var outcome = await Processes().RunAsync(Shell("ls -A \"$HOME\"; ls -A \"$TMPDIR\"") with
        {
            FreshHome = true,
            Tail = new OutputTailOptions(1000),
        }, CancellationToken.None);

        Assert.Equal("kept\n", outcome.Tail);
    }

    [Fact]
    public async Task Leftovers_of_a_finished_command_are_ended()
    {
        var childFile = Path.Combine(_dataDir, "child");
        var outcome = await Processes().RunAsync(Shell($"sleep 300 & echo $! > {childFile}"), CancellationToken.None);

        var child = int.Parse(File.ReadAllText(childFile).Trim(), CultureInfo.InvariantCulture);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Contains(child, outcome.SignalledPids);
        await Wait.UntilAsync(() => !ProcessTable.IsAlive(child), "the leftover to end");
    }

    [Fact]
    public async Task End_finds_the_agents_processes_by_marker_and_ends_them()
    {
        var processes = Processes();
        IReadOnlyDictionary<Guid, int>? found = null;
        IReadOnlyList<int>? ended = null;
        var root = 0;

        var outcome = await processes.RunAsync(Shell("sleep 300 & sleep 300 & wait") with
        {
            OnStarted = async started =>
            {
                root = started.Pid;
                await Wait.UntilAsync(async () => (await processes.FindAgentsAsync(CancellationToken.None)).GetValueOrDefault(_agentId) >= 3, "the agent's three processes");
                found = await processes.FindAgentsAsync(CancellationToken.None);
                ended = await processes.EndAsync(_agentId, rootPid: null, rootStartTicks: null);
            },
        }, CancellationToken.None);

        Assert.Equal(3, found![_agentId]);
        Assert.Contains(root, ended!);
        Assert.Equal(3, ended!.Count);
        Assert.NotEqual(0, outcome.ExitCode); // ended by a signal, not by the caller
        Assert.False(outcome.Cancelled);
        Assert.DoesNotContain(_agentId, (await processes.FindAgentsAsync(CancellationToken.None)).Keys);
    }

    [Fact]
    public async Task Cancelling_ends_the_whole_tree()
    {
        using var stop = new CancellationTokenSource();
        var processes = Processes();
        var outcome = await processes.RunAsync(Shell("sleep 300 & sleep 300") with
        {
            OnStarted = async _ =>
            {
                await Wait.UntilAsync(async () => (await processes.FindAgentsAsync(CancellationToken.None)).GetValueOrDefault(_agentId) >= 2, "the agent's processes");
                await stop.CancelAsync();
            },
        }, stop.Token);

        Assert.True(outcome.Cancelled);
        Assert.True(outcome.SignalledPids.Count >= 2);
        Assert.DoesNotContain(_agentId, (await processes.FindAgentsAsync(CancellationToken.None)).Keys);
    }

    [Fact]
    public async Task Check_names_a_missing_executable()
    {
        var processes = Processes();

        Assert.Null(await processes.CheckAsync("/bin/sh", CancellationToken.None));
        Assert.Equal($"{_dataDir}/no-shell or /usr/bin/setsid is missing", await processes.CheckAsync($"{_dataDir}/no-shell", CancellationToken.None));
    }

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);
}
