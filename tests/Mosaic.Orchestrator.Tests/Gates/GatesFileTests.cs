using Mosaic.Orchestrator.Gates;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Gates;

public sealed class GatesFileTests
{
    [Fact]
    public void The_repository_file_gives_commands_timeouts_reports_and_thresholds()
    {
        var gates = GatesFile.LoadRepository("""
            gates:
              lint: npm run lint
              tests: { command: "npm test", timeout: 120 }
              coverage:
                command: npm run cover
                report: coverage/lcov.info
                threshold: 90
            """);

        Assert.Equal(new GateCommand("npm run lint", null, null, null), gates["lint"]);
        Assert.Equal(new GateCommand("npm test", 120, null, null), gates["tests"]);
        Assert.Equal(new GateCommand("npm run cover", null, "coverage/lcov.info", 90), gates["coverage"]);
        Assert.Empty(GatesFile.LoadRepository(""));
    }

    [Theory]
    [InlineData("gates: [a, b]", "gates must be a mapping")]
    [InlineData("gates:\n  fuzz: x", "unknown gates: fuzz")]
    [InlineData("gates:\n  tests: { timeout: 3 }", "gates.tests.command is required")]
    [InlineData("gates:\n  tests: { command: x, timeout: soon }", "gates.tests.timeout must be a number")]
    [InlineData("gates:\n  coverage: { command: x, threshold: 120 }", "threshold must be 0-100")]
    [InlineData("gates:\n  tests: \"  \"", "command is empty")]
    [InlineData("gates: {tests: [", "not valid YAML")]
    [InlineData("- a list", "top level must be a mapping")]
    public void Mistakes_are_named(string yaml, string expected)
    {
        var error = Assert.Throws<GateConfigException>(() => GatesFile.LoadRepository(yaml));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void The_orchestrator_config_has_defaults_and_per_repository_commands()
    {
        var config = GatesFile.LoadConfig("""
            defaults:
              gates:
                tests: make test
            repositories:
              "https://git.example/app.git":
                gates:
                  tests: make check
                  lint: make lint
            """);

        Assert.Equal("make test", config.Defaults["tests"].Command);
        Assert.Equal("make check", config.Repositories["https://git.example/app.git"]["tests"].Command);
        Assert.Throws<GateConfigException>(() => GatesFile.LoadConfig("repositories: [x]"));
    }

    [Theory]
    [InlineData("<?xml version=\"1.0\"?><coverage line-rate=\"0.8512\" branch-rate=\"0.5\"><packages/></coverage>", 85.12)]
    [InlineData("TN:\nSF:a.js\nLF:10\nLH:9\nend_of_record\nSF:b.js\nLF:10\nLH:7\nend_of_record\n", 80.0)]
    [InlineData("SF:empty.js\nLF:0\nLH:0\nend_of_record\n", 100.0)]
    public void Coverage_is_read_from_cobertura_and_lcov(string report, double expected)
    {
        Assert.Equal(expected, CoverageReport.LinePercent(report));
    }

    [Theory]
    [InlineData("<coverage>")]
    [InlineData("<coverage branch-rate=\"1\"/>")]
    [InlineData("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><coverage line-rate=\"&e;\"/>")]
    [InlineData("nothing here")]
    public void Unreadable_reports_give_no_figure(string report)
    {
        Assert.Null(CoverageReport.LinePercent(report));
    }

    [Fact]
    public async Task Gate_commands_from_the_orchestrator_config_apply_to_their_repository()
    {
        var remote = GitRemote.Create("gate-config");
        var config = Path.Combine(TempDirectory.Create("gates-config"), "gates.yml");
        await File.WriteAllTextAsync(config, $"defaults:\n  gates:\n    tests: \"true\"\nrepositories:\n  \"{remote.Bare[..^4]}/\":\n    gates:\n      tests: \"echo per-repository; exit 3\"\n");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["GATES_CONFIG"] = config;
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await host.SpawnAsync("T-gates-config", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));
        var status = await host.StatusAsync(id);

        Assert.Equal("gate-failed:tests", status.GetProperty("reason").GetString());
        Assert.Contains("exited with code 3", status.GetProperty("error").GetString());
    }

    [Fact]
    public void Bad_gate_settings_are_each_named()
    {
        var result = new GateOptionsValidator().Validate(null, new GateOptions
        {
            CoordinatorUrl = "not a url",
            GatesCustom = "tests,fuzz",
            GatesConfig = "/nonexistent/gates.yml",
        });
        Assert.Contains("COORDINATOR_URL", result.FailureMessage);
        Assert.Contains("GATES_CUSTOM: unknown gates: fuzz", result.FailureMessage);
        Assert.Contains("GATES_CONFIG", result.FailureMessage);
    }
}
