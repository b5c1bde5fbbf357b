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

    /// <summary>How standard output is decoded (default UTF-8); Latin-1 keeps every byte as one character (binary output).</summary>
    public System.Text.Encoding? OutputEncoding { get; init; }
}

/// <summary>What a helper printed and how it exited; <see cref="TimedOut"/> when its time limit ended it (the output is then empty).</summary>
public sealed record CapturedOutput(int ExitCode, string Output, string Error, bool TimedOut);

/// <summary>One line of a helper's output (valid only during the call); <paramref name="cut"/> when it was longer than the bound.</summary>
public delegate void LineHandler(ReadOnlySpan<char> line, bool cut);

public static class ProcessRunner
{
    /// <summary>
    /// Runs the helper with stdin closed and both outputs captured. At its time limit, or when the caller cancels,
    /// the process and its descendants are killed; a cancelled caller then gets the cancellation, a time limit
    /// <see cref="CapturedOutput.TimedOut"/>. A program that cannot be started throws as Process.Start does.
    /// </summary>
    public static async Task<CapturedOutput> RunAsync(CapturedProcess command, CancellationToken cancellationToken)
    {
        using var process = await StartAsync(command);
        using var streams = ProcessStreams.Own(process);
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

    /// <summary>
    /// Like <see cref="RunAsync"/>, but standard output is handed to <paramref name="onLine"/> line by line as it
    /// comes (without the '\n'), never held whole: memory stays at one line however much the helper prints. A line
    /// longer than <paramref name="maxLineChars"/> is handed as its first <paramref name="maxLineChars"/> characters
    /// with <c>cut</c> set; the rest of it is read and dropped. <see cref="CapturedOutput.Output"/> is then empty;
    /// stderr is kept (its first <see cref="CapturedProcess.MaxOutputChars"/>, 64 KiB when unset). The callback runs
    /// on the reading loop, so a slow consumer slows the helper down (its pipe fills) instead of filling memory. When
    /// the callback throws, the helper's tree is ended and the exception goes to the caller.
    /// </summary>
    public static async Task<CapturedOutput> RunStreamingAsync(CapturedProcess command, int maxLineChars, LineHandler onLine, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineChars, 1);
        using var process = await StartAsync(command);
        using var streams = ProcessStreams.Own(process);
        var error = ReadAsync(process.StandardError, command.MaxOutputChars ?? 64 * 1024);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(command.Timeout);
        // At the time limit or the caller's cancellation the tree is ended; its pipe closes and the read loop ends.
        using var stop = deadline.Token.Register(() => KillTree(process));
        try
        {
            await ReadLinesAsync(process.StandardOutput, maxLineChars, onLine);
            await process.WaitForExitAsync(CancellationToken.None);
        }
        catch
        {
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None);
            throw;
        }

        var stderr = await error;
        if (deadline.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new CapturedOutput(process.ExitCode, "", "", TimedOut: true);
        }

        return new CapturedOutput(process.ExitCode, "", stderr, TimedOut: false);
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }

    private static async Task ReadLinesAsync(StreamReader reader, int maxLineChars, LineHandler onLine)
    {
        var buffer = new char[64 * 1024];
        var pending = new char[Math.Min(maxLineChars, buffer.Length)];
        var pendingLength = 0;
        var cut = false;
        int read;
        while ((read = await reader.ReadAsync(buffer, CancellationToken.None)) > 0)
        {
            var position = 0;
            while (position < read)
            {
                var newline = Array.IndexOf(buffer, '\n', position, read - position);
                var end = newline < 0 ? read : newline;
                if (newline >= 0 && pendingLength == 0 && !cut && end - position <= maxLineChars)
                {
                    onLine(buffer.AsSpan(position, end - position), false); // the common case: no copy
                }
                else
                {
                    // A line split over reads (or too long): gather it, up to the bound.
                    var take = Math.Min(end - position, maxLineChars - pendingLength);
                    cut |= take < end - position;
                    if (pendingLength + take > pending.Length)
                    {
                        Array.Resize(ref pending, Math.Min(maxLineChars, Math.Max(pending.Length * 2, pendingLength + take)));
                    }

                    buffer.AsSpan(position, take).CopyTo(pending.AsSpan(pendingLength));
                    pendingLength += take;
                    if (newline >= 0)
                    {
                        onLine(pending.AsSpan(0, pendingLength), cut);
                        pendingLength = 0;
                        cut = false;
                    }
                }

                position = end + 1;
            }
        }

        if (pendingLength > 0 || cut)
        {
            onLine(pending.AsSpan(0, pendingLength), cut);
        }
    }

    private static async Task<Process> StartAsync(CapturedProcess command)
    {
        var start = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = command.OutputEncoding,
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

        var process = await NicedStarter.StartAsync(start, command.Nice);
        process.StandardInput.Close();
        return process;
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
