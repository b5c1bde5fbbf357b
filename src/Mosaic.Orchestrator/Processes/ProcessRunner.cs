using System.Diagnostics;
using System.Text;

namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// A short-lived helper process of the service's own (git, a <c>--version</c> probe), not an agent's: no session or
/// marker of its own. The environment is given whole (never inherited). <see cref="MaxOutputChars"/> keeps the
/// start of each stream when set (the rest is read and dropped); null keeps everything.
/// </summary>
public sealed record CapturedProcess(string FileName, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment, TimeSpan Timeout)
{
    public string? WorkingDirectory { get; init; }

    /// <summary>Niceness to start at (0: the service's own).</summary>
    public int Nice { get; init; }

    public int? MaxOutputChars { get; init; }
}

/// <summary>What a helper printed and how it exited; <see cref="TimedOut"/> when its time limit ended it (the output is then empty).</summary>
public sealed record CapturedOutput(int ExitCode, string Output, string Error, bool TimedOut);

public static class ProcessRunner
{
    /// <summary>
    /// Runs the helper with stdin closed and both outputs captured. At its time limit, or when the caller cancels,
    /// the process and its descendants are killed; a cancelled caller then gets the cancellation, a time limit
    /// <see cref="CapturedOutput.TimedOut"/>. A program that cannot be started throws as Process.Start does.
    /// </summary>
    public static async Task<CapturedOutput> RunAsync(CapturedProcess command, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (command.WorkingDirectory is not null)
        {
            start.WorkingDirectory = command.WorkingDirectory;
        }

        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        foreach (var (name, value) in command.Environment)
        {
            start.Environment[name] = value;
        }

        using var process = await NicedStarter.StartAsync(start, command.Nice);
        process.StandardInput.Close();
        var output = ReadAsync(process.StandardOutput, command.MaxOutputChars);
        var error = ReadAsync(process.StandardError, command.MaxOutputChars);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(command.Timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            return new CapturedOutput(process.ExitCode, "", "", TimedOut: true);
        }

        return new CapturedOutput(process.ExitCode, await output, await error, TimedOut: false);
    }

    private static async Task<string> ReadAsync(StreamReader reader, int? maxChars)
    {
        if (maxChars is not { } max)
        {
            return await reader.ReadToEndAsync(CancellationToken.None);
        }

        var text = new StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer, CancellationToken.None)) > 0)
        {
            // Drained to the end either way: a child blocked on a full pipe would never exit.
            text.Append(buffer, 0, Math.Min(read, max - text.Length));
        }

        return text.ToString();
    }
}
