using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Agents;

/// <summary>
/// Below DISK_MIN_FREE_MB, the running agent that uses the most space (its worktree and its folder in DATA_DIR) is
/// stopped with disk-full: an agent that fills the disk ends with a clear reason and its worktree is removed, instead
/// of running on past its lease on a disk where nothing can be written. One at a time: while a stopped agent is still
/// being cleaned up (which frees its space), no second one is stopped. Sizes are only measured below the floor.
/// </summary>
public sealed partial class DiskHogs(ActiveRuns runs, IOptions<OrchestratorOptions> options, ILogger<DiskHogs> logger)
{
    private static readonly EnumerationOptions Everything = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.ReparsePoint,
    };

    /// <summary>Stops the largest running agent, unless one stopped for the disk is still ending; the agent stopped, if any.</summary>
    public Guid? StopLargest(string why)
    {
        var live = runs.Snapshot;
        if (live.Any(r => r.Reason == StopReason.DiskFull))
        {
            return null;
        }

        var dataDir = options.Value.FullDataDir;
        var largest = live.Where(r => r.Reason is null)
            .Select(r => (Run: r, Bytes: SizeOf(AgentFolder.For(dataDir, r.AgentId).Root) + SizeOf(r.Worktree)))
            .OrderByDescending(r => r.Bytes)
            .FirstOrDefault();
        if (largest.Run is null)
        {
            return null;
        }

        LogStopping(logger, largest.Run.AgentId, largest.Bytes / (1024 * 1024), why);
        largest.Run.Stop(StopReason.DiskFull);
        return largest.Run.AgentId;
    }

    private static long SizeOf(string? folder)
    {
        if (folder is null || !Directory.Exists(folder))
        {
            return 0;
        }

        long total = 0;
        try
        {
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", Everything))
            {
                total += file.Length;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // removed while we counted: what was counted is enough to compare
        }

        return total;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping agent {AgentId} ({Megabytes} MB in its worktree and folder, the most here): {Reason}")]
    private static partial void LogStopping(ILogger logger, Guid agentId, long megabytes, string reason);
}
