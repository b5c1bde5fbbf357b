using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;

/// <summary>A session's transcript outlives the fresh HOME of the next run, and nothing else does.</summary>
public sealed class ClaudeSessionsTests
{
    [Fact]
    public void A_kept_transcript_goes_into_a_fresh_home_under_the_next_runs_working_directory()
    {
        var folder = new AgentFolder(TempDirectory.Create("sessions"));
        var session = Guid.NewGuid().ToString();
        var transcript = Path.Combine(folder.Home, ".claude", "projects", "-tmp-work-agent-1", $"{session}.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(transcript)!);
        File.WriteAllText(transcript, "{\"type\":\"user\"}\n");

        ClaudeSessions.Keep(folder, session);
        folder.CreateScratch(freshHome: true);
        Assert.False(File.Exists(transcript));
        folder.PlaceInHome(ClaudeSessions.HomeFilesOf(folder, session, "/tmp/work_trees/agent-2.x"));

        Assert.Equal("{\"type\":\"user\"}\n", File.ReadAllText(Path.Combine(folder.Home, ".claude", "projects", "-tmp-work-trees-agent-2-x", $"{session}.jsonl")));
    }

    [Fact]
    public void A_link_planted_as_the_transcript_and_a_session_id_that_is_not_a_uuid_are_not_followed()
    {
        var folder = new AgentFolder(TempDirectory.Create("sessions-hostile"));
        var session = Guid.NewGuid().ToString();
        var projects = Path.Combine(folder.Home, ".claude", "projects", "p");
        Directory.CreateDirectory(projects);
        var outside = Path.Combine(TempDirectory.Create("outside"), "secret.txt");
        File.WriteAllText(outside, "not the agent's");
        File.CreateSymbolicLink(Path.Combine(projects, $"{session}.jsonl"), outside);

        ClaudeSessions.Keep(folder, session);
        ClaudeSessions.Keep(folder, "../../etc");

        Assert.Empty(ClaudeSessions.HomeFilesOf(folder, session, "/tmp/work"));
        Assert.Empty(ClaudeSessions.HomeFilesOf(folder, "../../etc", "/tmp/work"));
        Assert.False(Directory.Exists(folder.Sessions) && Directory.EnumerateFiles(folder.Sessions, "*", SearchOption.AllDirectories).Any());
    }

    [Theory]
    [InlineData(".claude")]
    [InlineData(".claude/projects")]
    public void A_linked_claude_folder_is_not_followed_to_a_transcript_elsewhere(string linked)
    {
        var folder = new AgentFolder(TempDirectory.Create("sessions-linked"));
        var session = Guid.NewGuid().ToString();
        // Elsewhere on the host, a file with the session's name (another agent's kept transcript, say).
        var elsewhere = TempDirectory.Create("elsewhere");
        var target = linked == ".claude" ? Path.Combine(elsewhere, "projects", "p") : Path.Combine(elsewhere, "p");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, $"{session}.jsonl"), "not the agent's");
        var link = Path.Combine(folder.Home, linked);
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        Directory.CreateSymbolicLink(link, elsewhere);

        ClaudeSessions.Keep(folder, session);

        Assert.Empty(ClaudeSessions.HomeFilesOf(folder, session, "/tmp/work"));
    }

    [Fact]
    public void Home_files_must_stay_inside_home()
    {
        var folder = new AgentFolder(TempDirectory.Create("home-files"));
        folder.CreateScratch();
        var source = Path.Combine(folder.Root, "x");
        File.WriteAllText(source, "x");

        Assert.Throws<ArgumentException>(() => folder.PlaceInHome(new Dictionary<string, string> { ["../escaped"] = source }));
        Assert.Throws<ArgumentException>(() => folder.PlaceInHome(new Dictionary<string, string> { ["/etc/escaped"] = source }));
        Assert.False(File.Exists(Path.Combine(folder.Root, "escaped")));
    }
}
