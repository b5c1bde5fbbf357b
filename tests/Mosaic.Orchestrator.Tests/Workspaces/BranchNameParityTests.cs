using System.Diagnostics;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Tests.Workspaces;

/// <summary>The in-process branch check answers like `git check-ref-format --branch` (it runs on every spawn, git does not).</summary>
public sealed class BranchNameParityTests
{
    [Theory]
    [InlineData("main")]
    [InlineData("release/2026.11")]
    [InlineData("feature/US-001_x")]
    [InlineData("a..b")]
    [InlineData("a b")]
    [InlineData("a~1")]
    [InlineData("a^")]
    [InlineData("a:b")]
    [InlineData("a?")]
    [InlineData("a*")]
    [InlineData("a[b")]
    [InlineData("a\\b")]
    [InlineData("x/.hidden")]
    [InlineData("x.lock")]
    [InlineData("x/y.lock/z")]
    [InlineData("x/")]
    [InlineData("x.")]
    [InlineData("a@{1}")]
    [InlineData("a//b")]
    [InlineData("/a")]
    [InlineData("-evil")]
    [InlineData("a\u0001")]
    [InlineData("ok-@-at")]
    [InlineData("dots.in.name")]
    public void Our_answer_matches_git(string name)
    {
        var start = new ProcessStartInfo("git") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("check-ref-format");
        start.ArgumentList.Add("--branch");
        start.ArgumentList.Add(name);
        using var git = Process.Start(start)!;
        git.WaitForExit();
        Assert.Equal(git.ExitCode == 0, BranchName.Check(name) is null);
    }
}
