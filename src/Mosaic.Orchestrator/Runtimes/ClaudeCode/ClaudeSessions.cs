using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>
/// Claude Code keeps a session's conversation in HOME/.claude/projects/&lt;project&gt;/&lt;session id&gt;.jsonl, and every
/// run gets a fresh HOME (nothing an earlier run planted there is read). So that a later run can continue the session
/// (a fix run after a failing gate keeps its context, and does not pay to read the repository again), the transcript
/// is kept in the agent's folder after each run and placed into the fresh HOME of the run that continues it.
/// </summary>
public static class ClaudeSessions
{
    /// <summary>A transcript larger than this is not kept (the run then starts a new session).</summary>
    private const long MaxTranscriptBytes = 64L * 1024 * 1024;

    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    /// <summary>Keeps the session's transcript from HOME; a link or an oversized file is not followed or kept.</summary>
    public static void Keep(AgentFolder folder, string? sessionId)
    {
        var projects = Path.Combine(folder.Home, ".claude", "projects");
        if (!IsSessionId(sessionId) || !Directory.Exists(projects))
        {
            return;
        }

        var found = Directory.EnumerateFiles(projects, sessionId + ".jsonl", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint });
        foreach (var transcript in found.Select(f => new FileInfo(f)).Where(f => f.LinkTarget is null && f.Length <= MaxTranscriptBytes))
        {
            var target = Path.Combine(folder.Sessions, sessionId!, Path.GetRelativePath(folder.Home, transcript.FullName));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            transcript.CopyTo(target, overwrite: true);
        }
    }

    /// <summary>The kept transcript of the session as files for the next run's HOME; empty when none was kept.</summary>
    public static IReadOnlyDictionary<string, string> HomeFilesOf(AgentFolder folder, string? sessionId)
    {
        var kept = Path.Combine(folder.Sessions, sessionId ?? "");
        return IsSessionId(sessionId) && Directory.Exists(kept)
            ? Directory.EnumerateFiles(kept, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(kept, f), f => f)
            : None;
    }

    /// <summary>Session ids are UUIDs; anything else is not used as a file name.</summary>
    private static bool IsSessionId(string? sessionId) => Guid.TryParse(sessionId, out _);
}
