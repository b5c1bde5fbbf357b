using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// The built executable (dotnet mosaic-orchestrator.dll) as a user runs it: its own process, arguments, environment
/// and working folder, stdout and stderr collected. Settings the test runner's environment happens to hold
/// (ORCHESTRATOR_API_KEY, MOSAIC_*, ...) are removed first, so a test sees only what it sets.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly Task _drained;

    private ServiceProcess(Process process)
    {
        _process = process;
        _drained = Task.WhenAll(DrainAsync(process.StandardOutput, _output), DrainAsync(process.StandardError, _error));
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts it; with <paramref name="onlyGiven"/> its environment is the given variables plus what dotnet
    /// itself needs (PATH, HOME, DOTNET_ROOT), not the test runner's.</summary>
    public static ServiceProcess Start(
        IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null, bool onlyGiven = false)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? TempDirectory.Create("cwd"),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in start.Environment.Keys.ToList())
        {
            var needed = name is "PATH" or "HOME" or "TMPDIR" || name.StartsWith("DOTNET_ROOT", StringComparison.Ordinal);
            if ((onlyGiven && !needed) || SettingNames.IsKnown(name) || name.StartsWith("MOSAIC_", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || name.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(name);
            }
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        return new ServiceProcess(Process.Start(start)!);
    }

    /// <summary>Runs a command that must end by itself, and waits for its end and all its output.</summary>
    public static async Task<ServiceProcess> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var process = Start(args, environment, workingDirectory);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return process;
    }

    /// <summary>Waits for the exit; a process still running at the deadline is a failure (it served instead of ending).</summary>
    public async Task WaitForExitAsync(TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"mosaic-orchestrator still runs after {deadline.TotalSeconds} s\nstdout:\n{Output}\nstderr:\n{Error}");
        }

        await _drained;
    }

    /// <summary>The address from the host's "Now listening on:" line (ORCHESTRATOR_PORT=0 picks a free port).</summary>
    public async Task<Uri> WaitForListeningAsync()
    {
        Uri? address = null;
        await Wait.UntilAsync(() =>
        {
            if (ListeningOn().Match(Output) is { Success: true } line)
            {
                address = new Uri(line.Groups[1].Value);
            }

            return address is not null || _process.HasExited;
        }, "the service to listen", TimeSpan.FromSeconds(60));
        return address ?? throw new InvalidOperationException($"the service ended before it listened\nstdout:\n{Output}\nstderr:\n{Error}");
    }

    /// <summary>SIGTERM, as systemd, docker stop and Ctrl-C (SIGINT) ask a service to stop.</summary>
    public void Terminate() => ProcessTable.Signal(_process.Id, 15);

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>SIGKILL of the service alone (kill -9): no shutdown runs; its agents' processes are left as they are.</summary>
    public async Task KillHardAsync()
    {
        ProcessTable.Signal(_process.Id, 9);
        await WaitForExitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>
    /// The service's open file descriptors (/proc/pid/fd) but its own code files: the runtime keeps each assembly it
    /// loads open (two descriptors each), and loading one later is not a leak.
    /// </summary>
    public int OpenFileDescriptors => new DirectoryInfo($"/proc/{_process.Id}/fd").EnumerateFileSystemInfos()
        .Count(f => f.LinkTarget is not { } target || !(target.EndsWith(".dll", StringComparison.Ordinal) || target.Contains(".so", StringComparison.Ordinal)));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        await _drained;
        _process.Dispose();
    }

    private static async Task DrainAsync(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            lock (into)
            {
                into.Append(buffer, 0, read);
            }
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
