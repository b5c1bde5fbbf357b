using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Mosaic.Orchestrator.Processes;

/// <summary>One row of /proc: enough to build process trees and to recognise a process again after a restart.</summary>
public readonly record struct ProcessInfo(int Pid, int ParentPid, int ProcessGroup, int Session, char State, long StartTicks)
{
    /// <summary>A zombie has exited; only its parent's wait is missing.</summary>
    public bool IsAlive => State is not ('Z' or 'X' or 'x');
}

/// <summary>Reads Linux /proc and sends signals. Linux only, like the service.</summary>
public static partial class ProcessTable
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    public static ProcessInfo? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name is in parentheses and may itself hold spaces or parentheses: parse after the last ')'.
            var end = stat.LastIndexOf(')');
            var fields = stat[(end + 2)..].Split(' ');
            return new ProcessInfo(
                pid,
                ParentPid: int.Parse(fields[1], CultureInfo.InvariantCulture),
                ProcessGroup: int.Parse(fields[2], CultureInfo.InvariantCulture),
                Session: int.Parse(fields[3], CultureInfo.InvariantCulture),
                State: fields[0][0],
                StartTicks: long.Parse(fields[19], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null; // gone between listing and reading, or not ours to read
        }
    }

    public static List<ProcessInfo> Snapshot()
    {
        var rows = new List<ProcessInfo>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Read(pid) is { } info)
            {
                rows.Add(info);
            }
        }

        return rows;
    }

    /// <summary>True when the process's environment holds exactly <paramref name="entry"/> (NAME=value).</summary>
    public static bool HasEnvironmentEntry(int pid, string entry)
    {
        byte[] environ;
        try
        {
            environ = File.ReadAllBytes($"/proc/{pid}/environ");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        var needle = Encoding.UTF8.GetBytes(entry);
        var span = environ.AsSpan();
        while (!span.IsEmpty)
        {
            var end = span.IndexOf((byte)0);
            var item = end < 0 ? span : span[..end];
            if (item.SequenceEqual(needle))
            {
                return true;
            }

            span = end < 0 ? [] : span[(end + 1)..];
        }

        return false;
    }

    public static bool IsAlive(int pid) => Read(pid) is { IsAlive: true };

    /// <summary>Every live process that carries an agent marker, by agent id (reads each process's environment).</summary>
    public static Dictionary<Guid, List<int>> AgentProcesses()
    {
        var prefix = Encoding.UTF8.GetBytes(AgentMarker.Name + "=");
        var found = new Dictionary<Guid, List<int>>();
        foreach (var process in Snapshot().Where(p => p.IsAlive && p.Pid != Environment.ProcessId))
        {
            byte[] environ;
            try
            {
                environ = File.ReadAllBytes($"/proc/{process.Pid}/environ");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var entry in environ.AsSpan().Split((byte)0))
            {
                var item = environ.AsSpan(entry);
                if (item.StartsWith(prefix) && Guid.TryParse(Encoding.UTF8.GetString(item[prefix.Length..]), out var agentId))
                {
                    (found.TryGetValue(agentId, out var pids) ? pids : found[agentId] = []).Add(process.Pid);
                    break;
                }
            }
        }

        return found;
    }

    /// <summary>Sends a signal; a process that is already gone is not an error.</summary>
    public static void Signal(int pid, int signal) => _ = Kill(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
