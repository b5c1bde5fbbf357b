using System.Diagnostics;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>The built mosaic-orchestrator executable, run as a user would run it.</summary>
public static class RealExecutable
{
    /// <summary>Runs it to its end (at most 30 s: a command that should refuse must not serve); returns its exit code and stderr.</summary>
    public static async Task<(int ExitCode, string Error)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(deadline.Token);
        await output;
        return (process.ExitCode, error);
    }
}
