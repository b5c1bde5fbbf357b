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
}
