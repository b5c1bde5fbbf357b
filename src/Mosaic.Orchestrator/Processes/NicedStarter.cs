using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// Starts child processes at a given niceness without an extra exec of /usr/bin/nice: on Linux niceness belongs to a
/// thread and a child inherits its forking thread's, so each niceness gets one dedicated thread, reniced once, that
/// does the starting. An agent's pipeline starts about fifteen git processes; through nice each would be two execs.
/// </summary>
public static partial class NicedStarter
{
    private static readonly ConcurrentDictionary<int, Lazy<StarterThread>> Threads = new();

    /// <summary>Starts <paramref name="start"/> at <paramref name="nice"/> (0: on the caller's thread, as usual).</summary>
    public static Task<Process> StartAsync(ProcessStartInfo start, int nice)
    {
        if (nice <= 0)
        {
            return Task.FromResult(Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}"));
        }

        return Threads.GetOrAdd(nice, n => new Lazy<StarterThread>(() => new StarterThread(n))).Value.StartAsync(start);
    }

    private sealed class StarterThread
    {
        private readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Started)> _requests = [];
        private readonly int _nice;
        private Exception? _reniceFailure;

        public StarterThread(int nice)
        {
            _nice = nice;
            new Thread(Run) { IsBackground = true, Name = $"niced starter {nice}" }.Start();
        }

        public Task<Process> StartAsync(ProcessStartInfo start)
        {
            var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
            _requests.Add((start, started));
            return started.Task;
        }

        private void Run()
        {
            // Raising one's own niceness needs no privilege; a failure (a seccomp filter, say) is reported to every
            // caller rather than starting agents at the service's priority.
            if (SetPriority(PriorityOfProcess, GetThreadId(), _nice) != 0)
            {
                _reniceFailure = new InvalidOperationException($"could not set the process starter's niceness to {_nice} (errno {Marshal.GetLastPInvokeError()})");
            }

            foreach (var (start, started) in _requests.GetConsumingEnumerable())
            {
                try
                {
                    started.SetResult(_reniceFailure is null
                        ? Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}")
                        : throw _reniceFailure);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    started.SetException(ex); // the caller sees what Process.Start would have thrown at it
                }
            }
        }
    }

    private const int PriorityOfProcess = 0; // PRIO_PROCESS: with a thread id, that one thread

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
