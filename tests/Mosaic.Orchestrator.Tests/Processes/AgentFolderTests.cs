using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Processes;

/// <summary>The agent's folder: the names operators and the README rely on, scratch that comes and goes, logs that stay.</summary>
public sealed class AgentFolderTests : IDisposable
{
    private readonly string _dataDir = TempDirectory.Create("agent-folder");
    private readonly Guid _agentId = Guid.NewGuid();

    [Fact]
    public void The_layout_is_agents_id_with_home_tmp_prompt_and_logs()
    {
        var folder = AgentFolder.For(_dataDir, _agentId);

        var root = Path.Combine(_dataDir, "agents", _agentId.ToString());
        Assert.Equal(root, folder.Root);
        Assert.Equal(Path.Combine(root, "home"), folder.Home);
        Assert.Equal(Path.Combine(root, "tmp"), folder.Tmp);
        Assert.Equal(Path.Combine(root, "prompt.txt"), folder.PromptFile);
        Assert.Equal(Path.Combine(root, "attempt-3.log"), folder.AttemptLog(3));
        Assert.Equal(Path.Combine(root, "gate-lint-attempt-2-round-1.log"), folder.GateLog("lint", 2, 1));
    }

    [Fact]
    public void A_relative_data_dir_gives_an_absolute_folder()
    {
        var folder = AgentFolder.For("data", _agentId);

        Assert.True(Path.IsPathFullyQualified(folder.Root));
        Assert.Equal(Path.Combine(Path.GetFullPath("data"), "agents", _agentId.ToString()), folder.Root);
    }

    [Fact]
    public void Scratch_is_kept_between_runs_unless_a_fresh_home_is_asked_for()
    {
        var folder = AgentFolder.For(_dataDir, _agentId);
        folder.CreateScratch();
        File.WriteAllText(Path.Combine(folder.Home, "planted"), "x");
        File.WriteAllText(Path.Combine(folder.Tmp, "build.o"), "x");

        folder.CreateScratch();
        Assert.True(File.Exists(Path.Combine(folder.Home, "planted")));

        folder.CreateScratch(freshHome: true);
        Assert.True(Directory.Exists(folder.Home));
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Home));
        Assert.True(File.Exists(Path.Combine(folder.Tmp, "build.o")), "only HOME is made fresh");
    }

    [Fact]
    public async Task Removing_scratch_keeps_the_prompt_and_the_logs()
    {
        var folder = AgentFolder.For(_dataDir, _agentId);
        var prompt = await folder.WritePromptAsync("do the thing", CancellationToken.None);
        folder.CreateScratch();
        await File.WriteAllTextAsync(folder.AttemptLog(1), "log");
        await File.WriteAllTextAsync(folder.GateLog("tests", 1, 0), "gate log");

        folder.RemoveScratch();
        folder.RemoveScratch(); // already gone: nothing to do

        Assert.Equal(folder.PromptFile, prompt);
        Assert.Equal("do the thing", await File.ReadAllTextAsync(prompt));
        Assert.False(Directory.Exists(folder.Home));
        Assert.False(Directory.Exists(folder.Tmp));
        Assert.True(File.Exists(folder.AttemptLog(1)));
        Assert.True(File.Exists(folder.GateLog("tests", 1, 0)));
    }

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);
}
