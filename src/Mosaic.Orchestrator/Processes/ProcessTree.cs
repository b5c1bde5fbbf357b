using System.Diagnostics;

namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// How to find every process of one agent: its root process, the session the root leads (agents start in a
/// session of their own), every descendant, and every process that carries the agent's environment marker,
/// which also catches processes that left the session or were re-parented after a daemonising double fork.
/// </summary>
public sealed record ProcessTreeSelector(int? RootPid, long? RootStartTicks, string? EnvironmentMarker);

public static class ProcessTree
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ForceDeadline = TimeSpan.FromSeconds(5);

    /// <summary>Live members of the agent's tree, never this process.</summary>
    public static IReadOnlyList<ProcessInfo> FindMembers(ProcessTreeSelector selector)
    {
        var self = Environment.ProcessId;
        var all = ProcessTable.Snapshot().Where(p => p.IsAlive && p.Pid != self).ToList();
        var members = new Dictionary<int, ProcessInfo>();

        var sessionIsOurs = selector.RootPid is { } root && SessionStillBelongsToRoot(root, selector.RootStartTicks, all);
        foreach (var process in all)
        {
            // A process started before the agent's root cannot carry its marker: skip reading its environment.
            var mayCarryMarker = selector.RootStartTicks is not { } rootStart || process.StartTicks >= rootStart;
            if ((process.Pid == selector.RootPid && RootMatches(process, selector))
                || (sessionIsOurs && process.Session == selector.RootPid)
                || (mayCarryMarker && selector.EnvironmentMarker is { } marker && ProcessTable.HasEnvironmentEntry(process.Pid, marker)))
            {
                members[process.Pid] = process;
            }
        }

        // Descendants, to a fixed point: children of members are members.
        bool grew;
        do
        {
            grew = false;
            foreach (var process in all)
            {
                if (!members.ContainsKey(process.Pid) && members.ContainsKey(process.ParentPid))
                {
                    members[process.Pid] = process;
                    grew = true;
                }
            }
        }
        while (grew);

        return [.. members.Values];
    }

    /// <summary>
    /// Ends the whole tree: SIGTERM to every member, up to <paramref name="grace"/> for them to exit, then SIGKILL
    /// to whatever is left (looking again, since a dying process may have started others). Real time on purpose:
    /// processes die on the OS clock, not on the service's TimeProvider. Returns the PIDs that were signalled.
    /// </summary>
    public static async Task<IReadOnlyList<int>> TerminateAsync(ProcessTreeSelector selector, TimeSpan grace, CancellationToken cancellationToken = default)
    {
        var signalled = new HashSet<int>();
        var members = FindMembers(selector);
        foreach (var member in members)
        {
            ProcessTable.Signal(member.Pid, ProcessTable.SigTerm);
            signalled.Add(member.Pid);
        }

        var clock = Stopwatch.StartNew();
        while (members.Count > 0 && clock.Elapsed < grace)
        {
            await Task.Delay(PollInterval, cancellationToken);
            members = FindMembers(selector);
        }

        clock.Restart();
        while (members.Count > 0 && clock.Elapsed < ForceDeadline)
        {
            foreach (var member in members)
            {
                ProcessTable.Signal(member.Pid, ProcessTable.SigKill);
                signalled.Add(member.Pid);
            }

            await Task.Delay(PollInterval, CancellationToken.None);
            members = FindMembers(selector);
        }

        return [.. signalled];
    }

    private static bool RootMatches(ProcessInfo process, ProcessTreeSelector selector) =>
        selector.RootStartTicks is not { } ticks || process.StartTicks == ticks;

    // Session ids are the PID of the session's first leader and outlive it; a recycled PID that leads a new
    // session with a different start time is someone else's.
    private static bool SessionStillBelongsToRoot(int root, long? startTicks, List<ProcessInfo> all)
    {
        var holder = all.FirstOrDefault(p => p.Pid == root);
        return holder == default || startTicks is null || holder.StartTicks == startTicks || holder.Session != root;
    }
}
