using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>
/// Claude Code keeps a session's conversation in HOME/.claude/projects/&lt;working directory, each character that is not
/// a letter or digit made '-'&gt;/&lt;session id&gt;.jsonl, and every run gets a fresh HOME (nothing an earlier run planted
/// there is read). So that a later run can continue the session (a fix run after a failing gate, or a resumed agent in
/// a worktree of its own), the transcript is kept in the agent's folder after each run and placed into the fresh HOME
/// of the run that continues it, under that run's working directory.
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
        // HOME is the agent's (in the sandbox, the whole of what it can write on the host): a linked .claude or
        // projects would have the service copy a file from wherever the link points, and hand it back next run.
        if (!IsSessionId(sessionId) || !Directory.Exists(projects)
            || new DirectoryInfo(Path.Combine(folder.Home, ".claude")).LinkTarget is not null || new DirectoryInfo(projects).LinkTarget is not null)
        {
            return;
        }

        var found = Directory.EnumerateFiles(projects, sessionId + ".jsonl", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Select(f => new FileInfo(f))
            .Where(f => f.LinkTarget is null && f.Length <= MaxTranscriptBytes)
            .OrderByDescending(f => f.LastWriteTimeUtc)
            .FirstOrDefault();
        if (found is not null)
        {
            Directory.CreateDirectory(folder.Sessions);
            found.CopyTo(KeptAt(folder, sessionId!), overwrite: true);
        }
    }

    /// <summary>The kept transcript as a file for the HOME of a run in <paramref name="workingDirectory"/>; empty when none was kept.</summary>
    public static IReadOnlyDictionary<string, string> HomeFilesOf(AgentFolder folder, string? sessionId, string workingDirectory) =>
        IsSessionId(sessionId) && File.Exists(KeptAt(folder, sessionId!))
            ? new Dictionary<string, string> { [Path.Combine(".claude", "projects", ProjectOf(workingDirectory), sessionId + ".jsonl")] = KeptAt(folder, sessionId!) }
            : None;

    /// <summary>Claude Code's folder name for a working directory.</summary>
    public static string ProjectOf(string workingDirectory) =>
        new([.. Path.GetFullPath(workingDirectory).Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);

    private static string KeptAt(AgentFolder folder, string sessionId) => Path.Combine(folder.Sessions, sessionId + ".jsonl");

    /// <summary>Session ids are UUIDs; anything else is not used as a file name.</summary>
    private static bool IsSessionId(string? sessionId) => Guid.TryParse(sessionId, out _);
}
