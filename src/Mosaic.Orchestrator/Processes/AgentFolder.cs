using System.Globalization;

namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// The one place that knows an agent's folder, <c>DATA_DIR/agents/&lt;id&gt;/</c>: its private HOME and TMPDIR (scratch,
/// removed at cleanup), the command runtime's prompt file, and the logs of its attempts and gate runs (kept for the
/// operator). Names here are part of what operators and the README rely on: <c>attempt-&lt;n&gt;.log</c>,
/// <c>gate-&lt;gate&gt;-attempt-&lt;n&gt;-round-&lt;r&gt;.log</c>.
/// </summary>
public sealed record AgentFolder(string Root)
{
    public static AgentFolder For(string dataDirectory, Guid agentId) =>
        new(Path.Combine(Path.GetFullPath(dataDirectory), "agents", agentId.ToString()));

    public string Home => Path.Combine(Root, "home");

    public string Tmp => Path.Combine(Root, "tmp");

    public string PromptFile => Path.Combine(Root, "prompt.txt");

    /// <summary>Conversations a runtime keeps for the agent's later runs (a fix run continues the same session); not scratch.</summary>
    public string Sessions => Path.Combine(Root, "sessions");

    public string AttemptLog(int attempt) => Path.Combine(Root, string.Create(CultureInfo.InvariantCulture, $"attempt-{attempt}.log"));

    public string GateLog(string gate, int attempt, int round) =>
        Path.Combine(Root, string.Create(CultureInfo.InvariantCulture, $"gate-{gate}-attempt-{attempt}-round-{round}.log"));

    /// <summary>
    /// Creates HOME and TMPDIR. <paramref name="freshHome"/> empties HOME first: whatever an earlier run or a gate
    /// command left there (settings, hooks) must not steer a run that would read it, as Claude Code would.
    /// </summary>
    public void CreateScratch(bool freshHome = false)
    {
        if (freshHome && Directory.Exists(Home))
        {
            Directory.Delete(Home, recursive: true);
        }

        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(Tmp);
    }

    /// <summary>Removes the whole folder, logs and kept sessions included (retention).</summary>
    public void Remove()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    /// <summary>Copies each source file to its path relative to HOME; a path that would leave HOME is refused.</summary>
    public void PlaceInHome(IReadOnlyDictionary<string, string> files)
    {
        var home = Path.GetFullPath(Home) + Path.DirectorySeparatorChar;
        foreach (var (relative, source) in files)
        {
            var target = Path.GetFullPath(Path.Combine(home, relative));
            if (Path.IsPathRooted(relative) || !target.StartsWith(home, StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{relative}' is not a path inside HOME", nameof(files));
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target, overwrite: true);
        }
    }

    /// <summary>Writes the prompt file (creating the folder) and returns its path.</summary>
    public async Task<string> WritePromptAsync(string prompt, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Root);
        await File.WriteAllTextAsync(PromptFile, prompt, cancellationToken);
        return PromptFile;
    }

    /// <summary>Removes HOME and TMPDIR once the agent is over; its prompt and logs stay for the operator.</summary>
    public void RemoveScratch()
    {
        foreach (var scratch in new[] { Home, Tmp }.Where(Directory.Exists))
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
