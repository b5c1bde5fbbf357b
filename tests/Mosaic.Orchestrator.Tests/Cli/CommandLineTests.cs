using Mosaic.Orchestrator.Cli;

namespace Mosaic.Orchestrator.Tests.Cli;

public sealed class CommandLineTests
{
    [Fact]
    public void Help_exits_0_and_an_unknown_command_exits_2()
    {
        Assert.Equal(0, CommandLine.Run(["help"]));
        Assert.Equal(2, CommandLine.Run(["frobnicate"]));
    }

    [Theory]
    [InlineData("--AGENT_NICE=abc", "AGENT_NICE")]
    [InlineData("--AGENT_NICE=99", "The field AGENT_NICE must be between 0 and 19")]
    [InlineData("--ORCHESTRATOR_HOST=myhost", "ORCHESTRATOR_HOST")]
    public async Task The_real_executable_refuses_bad_settings_with_a_message_not_a_stack_trace(string setting, string named)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll"));
        start.ArgumentList.Add(setting);
        start.ArgumentList.Add("--DATA_DIR=" + Support.TempDirectory.Create("bad-setting"));
        start.ArgumentList.Add("--ORCHESTRATOR_PORT=0");
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // it must refuse, not serve
        await process.WaitForExitAsync(deadline.Token);
        await output;

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("refusing to start", error);
        Assert.Contains(named, error);
        Assert.DoesNotContain("   at ", error);
    }
}
