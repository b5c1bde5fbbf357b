using System.Diagnostics;

namespace Mosaic.Orchestrator.Processes;

/// <summary>Sees each whole line the process writes (without its newline), as it is written; called on the reader's thread.</summary>
public delegate void OutputLineHandler(ReadOnlySpan<byte> line, bool standardError);

/// <summary>
/// What to start: the environment is given whole (never inherited), the marker entry is added to it. Every byte
/// of output goes to the capped log; <see cref="OnLine"/>, when set, also sees it line by line.
/// </summary>
public sealed record ProcessSpec(
    string FileName,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    string EnvironmentMarker,
    string LogPath,
    long LogMaxBytes,
    int Nice = 0,
    OutputLineHandler? OnLine = null);

/// <summary>How a process tree ended: its exit code, or cancelled (killed) when the caller cancelled.</summary>
public sealed record ProcessOutcome(int ExitCode, bool Cancelled, IReadOnlyList<int> SignalledPids);

/// <summary>
/// Starts a process as the leader of a new session (via setsid), so it and everything it starts can be found and
/// ended together; copies stdout and stderr into a size-capped log; on cancellation ends the whole tree.
/// </summary>
public static class ProcessLauncher
{
    public const string SetsidPath = "/usr/bin/setsid";

    public static async Task<ProcessOutcome> RunAsync(ProcessSpec spec, TimeSpan killGrace, Func<ProcessInfo, Task> onStarted, CancellationToken cancellationToken)
    {
        // setsid execs the program in place: the PID we get is the agent's, leading its own session. The niceness comes
        // from the starting thread (NicedStarter), so there is no nice exec in between.
        var startInfo = new ProcessStartInfo(SetsidPath)
        {
            WorkingDirectory = spec.WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(spec.FileName);
        foreach (var argument in spec.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (var (name, value) in spec.Environment)
        {
            startInfo.Environment[name] = value;
        }

        var marker = spec.EnvironmentMarker.Split('=', 2);
        startInfo.Environment[marker[0]] = marker[1];

        Directory.CreateDirectory(Path.GetDirectoryName(spec.LogPath)!);
        using var log = new CappedLog(spec.LogPath, spec.LogMaxBytes);
        cancellationToken.ThrowIfCancellationRequested(); // killed before it began: start nothing
        using var process = await NicedStarter.StartAsync(startInfo, spec.Nice);
        using var streams = ProcessStreams.Own(process);
        // The agent gets no input: closing stdin stops it waiting on a terminal that is not there.
        process.StandardInput.Close();
        var pumps = Task.WhenAll(
            log.CopyFromAsync(process.StandardOutput.BaseStream, spec.OnLine is null ? null : new LineSplitter(spec.OnLine, standardError: false)),
            log.CopyFromAsync(process.StandardError.BaseStream, spec.OnLine is null ? null : new LineSplitter(spec.OnLine, standardError: true)));

        // setsid execs in place (the child is not a group leader), so the PID we hold leads the new session.
        var root = ProcessTable.Read(process.Id) ?? new ProcessInfo(process.Id, Environment.ProcessId, process.Id, process.Id, 'R', 0);
        var selector = new ProcessTreeSelector(process.Id, root.StartTicks, spec.EnvironmentMarker);
        try
        {
            await SessionNice.ApplyAsync(process.Id, spec.Nice, cancellationToken);
            await onStarted(root);
            await process.WaitForExitAsync(cancellationToken);
            // The root exited on its own; processes it left behind in its session are still the agent's: end them too.
            var leftovers = await ProcessTree.TerminateAsync(selector, killGrace, CancellationToken.None);
            await WaitForPumpsAsync(pumps);
            return new ProcessOutcome(process.ExitCode, Cancelled: false, leftovers);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var signalled = await ProcessTree.TerminateAsync(selector, killGrace, CancellationToken.None);
            await process.WaitForExitAsync(CancellationToken.None);
            await WaitForPumpsAsync(pumps);
            return new ProcessOutcome(process.ExitCode, Cancelled: true, signalled);
        }
        catch (Exception)
        {
            // Recording the start failed (the agent was killed meanwhile, the lease was lost, the store broke): the
            // tree must not outlive the attempt that owns it.
            await ProcessTree.TerminateAsync(selector, killGrace, CancellationToken.None);
            await process.WaitForExitAsync(CancellationToken.None);
            throw;
        }
    }

    // A pipe stays open while any holder lives; after the tree is ended that is only a moment.
    private static async Task WaitForPumpsAsync(Task pumps)
    {
        await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(2)));
    }
}
