using System.Globalization;

namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// Gives an agent's session the agents' niceness. With autogroup scheduling (CONFIG_SCHED_AUTOGROUP, on by default in
/// Debian's and Ubuntu's kernels, and on this service's CI machine) every session is its own scheduling group, and
/// groups compete as equals whatever the niceness of the processes inside them: an agent started with setsid would
/// escape AGENT_NICE and take half the CPU from the API. The group's own niceness is set through /proc/PID/autogroup,
/// and only once the process leads its session: before its setsid the same file names the service's own group.
/// </summary>
public static class SessionNice
{
    private const string AutogroupSwitch = "/proc/sys/kernel/sched_autogroup_enabled";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(2);

    /// <summary>True when the kernel schedules sessions as groups (the file is absent on kernels built without it).</summary>
    public static bool AutogroupsActive { get; } = File.Exists(AutogroupSwitch) && File.ReadAllText(AutogroupSwitch).Trim() == "1";

    /// <summary>
    /// Sets the autogroup niceness of the session led by <paramref name="pid"/> once it leads one. Returns whether it
    /// did: false when there is nothing to do (niceness 0, no autogroups), or the process ended or never led a session.
    /// </summary>
    public static async Task<bool> ApplyAsync(int pid, int nice, CancellationToken cancellationToken)
    {
        if (nice <= 0 || !AutogroupsActive)
        {
            return false;
        }

        var deadline = DateTime.UtcNow + GiveUpAfter;
        while (ProcessTable.Read(pid) is { IsAlive: true } process)
        {
            if (process.Session == pid)
            {
                try
                {
                    await File.WriteAllTextAsync($"/proc/{pid}/autogroup", nice.ToString(CultureInfo.InvariantCulture), CancellationToken.None);
                    return true;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return false; // ended meanwhile, or not ours to change (another user's process)
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            // setsid has not exec'd yet: a few hundred microseconds, longer on a busy machine.
            await Task.Delay(Poll, cancellationToken);
        }

        return false;
    }
}
