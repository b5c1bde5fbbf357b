using System.Net.Sockets;
using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Cli;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Cli;

/// <summary>The executable as a new user meets it: help, version, bad settings, a busy port, misspelt names.</summary>
public sealed partial class CommandLineTests
{
    private const string Refusal = "mosaic-orchestrator: refusing to start: ";

    [Fact]
    public void An_unknown_command_or_short_option_is_a_usage_error()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(2, CommandLine.Run(["frobnicate"], output, error));
        Assert.Contains("unknown command 'frobnicate'", error.ToString());
        Assert.Equal(2, CommandLine.Run(["serve", "-v"], output, error));
        Assert.Contains("unknown option '-v'", error.ToString());
        Assert.Empty(output.ToString());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    [InlineData("serve", "--help")]
    [InlineData("--ORCHESTRATOR_PORT=0", "-h")]
    public async Task Help_prints_usage_and_exits_0_without_starting_or_creating_anything(params string[] args)
    {
        var folder = TempDirectory.Create("help");
        // Were it to serve, it would bind the default port and create ./data in the working folder.
        await using var run = await ServiceProcess.RunAsync(args, workingDirectory: folder);

        Assert.True(run.ExitCode == 0, run.Error);
        foreach (var command in new[] { "serve", "scan", "help", "version", "--NAME=value", "README.md" })
        {
            Assert.Contains(command, run.Output);
        }

        Assert.Empty(run.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("version")]
    [InlineData("serve", "--version")]
    public async Task Version_prints_the_informational_version_and_exits_0_without_starting(params string[] args)
    {
        var folder = TempDirectory.Create("version");
        await using var run = await ServiceProcess.RunAsync(args, workingDirectory: folder);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal($"mosaic-orchestrator {ServiceVersion.Text}", run.Output.Trim());
        Assert.Matches(VersionText(), ServiceVersion.Text);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Fact]
    public void The_commit_in_the_version_is_shortened_to_7_hex_digits()
    {
        Assert.Equal("0.9.0+35b12e0", ServiceVersion.Shorten("0.9.0+35b12e0bb6da0782dfcf91bee52a931452bfaa42"));
        Assert.Equal("0.9.0", ServiceVersion.Shorten("0.9.0"));
    }

    [Theory]
    [InlineData("--AGENT_NICE=abc", "AGENT_NICE must be a whole number (got 'abc')")]
    [InlineData("--AGENT_NICE=30", "AGENT_NICE must be between 0 and 19 (got 30)")]
    [InlineData("--ORCHESTRATOR_PORT=70000", "ORCHESTRATOR_PORT must be between 0 and 65535 (got 70000)")]
    [InlineData("--ORCHESTRATOR_HOST=myhost", "ORCHESTRATOR_HOST 'myhost' is neither localhost nor an IP address")]
    [InlineData("--GIT_AUTHOR_NAME=", "GIT_AUTHOR_NAME must not be empty")]
    [InlineData("--COVERAGE_THRESHOLD=101", "COVERAGE_THRESHOLD must be between 0 and 100 (got 101)")]
    [InlineData("--CLAUDE_MAX_TURNS=0", "CLAUDE_MAX_TURNS must be between 1 and 100000 (got 0)")]
    [InlineData("--SANDBOX_NETWORK=open", "SANDBOX_NETWORK 'open' is unknown; use one of: egress, none")]
    [InlineData("--SANDBOX_MEMORY=lots", "SANDBOX_MEMORY 'lots' is not a size of at least 6m (a number with k, m or g, e.g. 2g)")]
    [InlineData("--AGENT_BRANCH_TEMPLATE=agent/{nope}-{shortId}", "AGENT_BRANCH_TEMPLATE has unknown placeholder(s) {nope}")]
    public async Task A_bad_setting_is_refused_in_one_plain_line_with_exit_code_1(string setting, string line)
    {
        await using var run = await RunWithAsync(setting);

        AssertRefused(run, line);
    }

    [Fact]
    public async Task Every_bad_setting_gets_a_line_of_its_own()
    {
        await using var run = await RunWithAsync("--AGENT_NICE=30", "--TASK_MAX_ATTEMPTS=0", "--VALKEY_TLS=maybe");

        AssertRefused(run,
            "AGENT_NICE must be between 0 and 19 (got 30)",
            "TASK_MAX_ATTEMPTS must be between 1 and 100 (got 0)",
            "VALKEY_TLS must be true or false (got 'maybe')");
    }

    [Fact]
    public async Task Settings_that_are_wrong_only_together_are_refused_in_plain_lines_too()
    {
        await using var run = await RunWithAsync("--RETRY_BASE_DELAY_SECONDS=10", "--RETRY_MAX_DELAY_SECONDS=5", "--CLAUDE_PERMISSION_MODE=yolo");

        AssertRefused(run,
            "RETRY_MAX_DELAY_SECONDS must be at least RETRY_BASE_DELAY_SECONDS",
            "CLAUDE_PERMISSION_MODE 'yolo' is unknown; use one of: acceptEdits, default, dontAsk, plan, bypassPermissions");
    }

    [Fact]
    public async Task A_port_in_use_is_refused_in_one_line()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using var run = await RunWithAsync($"--ORCHESTRATOR_PORT={port}");

        AssertRefused(run, $"ORCHESTRATOR_PORT {port} is already in use on 127.0.0.1");
    }

    [Fact]
    public async Task A_host_address_that_is_not_this_machines_is_refused_in_one_line()
    {
        // TEST-NET-1 (RFC 5737): never assigned to a machine.
        await using var run = await RunWithAsync("--ORCHESTRATOR_HOST=192.0.2.1", "--ORCHESTRATOR_API_KEY=fake-key-for-a-test");

        AssertRefused(run, "ORCHESTRATOR_HOST 192.0.2.1 is not an address of this machine");
    }

    [Fact]
    public async Task A_data_dir_held_by_a_running_instance_is_refused_without_the_hosts_stack_trace()
    {
        // The refusal is thrown while the host starts, where the host logs it with its stack trace before rethrowing.
        await using var running = await TestHost.StartAsync();

        await using var run = await ServiceProcess.RunAsync(["--ORCHESTRATOR_PORT=0", "--DATA_DIR=" + running.DataDir]);

        AssertRefused(run, $"{Path.Combine(running.DataDir, "orchestrator.db")} is in use by another orchestrator instance");
        Assert.DoesNotContain("Hosting failed to start", run.Output);
    }

    [Theory]
    [InlineData("ORCHESTRATOR_API_KEY")]
    [InlineData("CLAUDE_API_KEY")] // two option classes have an ApiKey property: both settings are known
    [InlineData("SANDBOX_EGRESS_ALLOW")]
    public void Every_bound_setting_is_known_even_when_two_classes_name_their_properties_alike(string name) =>
        Assert.True(Mosaic.Orchestrator.Configuration.SettingNames.IsKnown(name));

    [Fact]
    public async Task Unknown_settings_that_look_like_ours_are_warned_about_before_serving_and_ordinary_variables_are_not()
    {
        var environment = new Dictionary<string, string?>
        {
            ["ORCHESTRATOR_PROT"] = "3002",           // a typo under our prefix
            ["CLAUDE_MODLE"] = "opus",                // ditto
            ["AGENT_NICENESS"] = "5",                 // not ours, but our prefix: named, with the nearest setting
            ["MOSAIC_DEBUG"] = "1",                   // MOSAIC_ is ours
            ["MAX_CONCURENT_AGENTS"] = "4",           // no prefix of ours, but two edits from a setting
            ["ANTHROPIC_API_KEY"] = "fake-key",       // a habit from other tools: the service reads CLAUDE_API_KEY
            ["agent_nice"] = "12",                    // configuration keys ignore case: this sets AGENT_NICE
            ["SANDBOX_ENABLED"] = "false",            // the sandbox's: known
            ["Logging__LogLevel__Microsoft"] = "Warning",
            ["MOSAIC_AGENT_ID"] = "x",                // what agents get (a service started from an agent's shell)
            ["MOSAIC_URL"] = "http://127.0.0.1:1",    // reserved for the CLI client
            ["CLAUDE_CODE_ENTRYPOINT"] = "cli",       // Claude Code's own
            ["GIT_AUTHOR_DATE"] = "2020-01-01",       // git's own, two edits from GIT_AUTHOR_NAME
            ["NODE_ENV"] = "production",
            ["JAVA_HOME"] = "/usr/lib/jvm",
            ["DOCKER_HOST"] = "unix:///var/run/docker.sock",
        };
        await using var service = ServiceProcess.Start(
            ["--ORCHESTRATOR_PORT=0", "--DATA_DIR=" + TempDirectory.Create("warn"), "--AGENT_RUNTIME=command", "--AGENT_COMMAND=true",
             "--DATADIR=/nowhere", "--FROBNICATE=1", "stray"],
            environment,
            onlyGiven: true);
        await service.WaitForListeningAsync();
        service.Terminate();
        await service.WaitForExitAsync(TimeSpan.FromSeconds(30));

        const string Warning = "mosaic-orchestrator: warning: ";
        Assert.Equal(
        [
            Warning + "ignoring unknown setting AGENT_NICENESS (environment); did you mean AGENT_NICE?",
            Warning + "ignoring ANTHROPIC_API_KEY (environment): the service reads CLAUDE_API_KEY",
            Warning + "ignoring unknown setting CLAUDE_MODLE (environment); did you mean CLAUDE_MODEL?",
            Warning + "ignoring unknown setting MAX_CONCURENT_AGENTS (environment); did you mean MAX_CONCURRENT_AGENTS?",
            Warning + "ignoring unknown setting MOSAIC_DEBUG (environment)",
            Warning + "ignoring unknown setting ORCHESTRATOR_PROT (environment); did you mean ORCHESTRATOR_PORT?",
            Warning + "ignoring unknown setting --DATADIR (command line); did you mean --DATA_DIR?",
            Warning + "ignoring unknown setting --FROBNICATE (command line)",
            Warning + "ignoring argument 'stray' (command line); settings are given as --NAME=value",
        ], Lines(service.Error));
        Assert.Equal(0, service.ExitCode);
    }

    [Fact]
    public void Ordinary_variables_of_shells_tools_and_ci_give_no_warning()
    {
        var environment = new System.Collections.Hashtable();
        foreach (var name in new[]
        {
            "PATH", "HOME", "USER", "SHELL", "LANG", "LC_ALL", "TERM", "PWD", "OLDPWD", "HOSTNAME", "TZ", "TMPDIR", "EDITOR", "_",
            "SHLVL", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "XDG_RUNTIME_DIR", "XDG_DATA_DIRS", "XDG_CONFIG_HOME", "DISPLAY", "MAIL",
            "LOGNAME", "SUDO_USER", "LD_LIBRARY_PATH", "DEBIAN_FRONTEND", "CONTAINER_NAME", "IS_SANDBOX", "CI",
            "NODE_ENV", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "NPM_CONFIG_PREFIX", "GOPATH", "GOROOT", "CARGO_HOME",
            "RUSTUP_HOME", "RUST_BACKTRACE", "PYTHONPATH", "PYTHONUNBUFFERED", "PYENV_ROOT", "VIRTUAL_ENV", "PIP_CERT",
            "JAVA_HOME", "KUBECONFIG", "DOCKER_HOST", "DOCKER_CONFIG", "AWS_REGION", "AWS_CA_BUNDLE", "GITHUB_TOKEN",
            "GITHUB_ACTIONS", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE",
            "GIT_SSH_COMMAND", "GIT_SSL_CAINFO", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
            "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "DOTNET_ROOT", "DOTNET_NOLOGO", "DOTNET_CLI_TELEMETRY_OPTOUT",
            "ASPNETCORE_ENVIRONMENT", "NUGET_PACKAGES", "MSBUILDDISABLENODEREUSE", "UseSharedCompilation", "DATABASE_URL",
            "PORT", "REDIS_URL", "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SSE_PORT", "CLAUDE_CONFIG_DIR",
            "CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR", "CLAUDE_ENV_FILE",
        })
        {
            environment[name] = "x";
        }

        Assert.Empty(UnknownSettings.Find(environment, ["--ORCHESTRATOR_PORT=0", "--Logging:LogLevel:Default", "Warning", "--agent_nice=3"]));
    }

    private static Task<ServiceProcess> RunWithAsync(params string[] settings) =>
        ServiceProcess.RunAsync([.. settings, "--DATA_DIR=" + TempDirectory.Create("bad-setting"), .. settings.Any(s => s.StartsWith("--ORCHESTRATOR_PORT", StringComparison.Ordinal)) ? Array.Empty<string>() : ["--ORCHESTRATOR_PORT=0"]]);

    /// <summary>Refused: exit 1, exactly these lines on stderr, and no stack trace anywhere (the host logs to stdout).</summary>
    private static void AssertRefused(ServiceProcess run, params string[] lines)
    {
        Assert.True(run.ExitCode == 1, $"exit {run.ExitCode}\nstdout:\n{run.Output}\nstderr:\n{run.Error}");
        var refusals = Lines(run.Error);
        Assert.Equal(lines.Length, refusals.Count);
        Assert.All(refusals, line => Assert.StartsWith(Refusal, line, StringComparison.Ordinal));
        Assert.All(lines, line => Assert.Contains(refusals, r => r.Contains(line, StringComparison.Ordinal)));

        Assert.DoesNotContain("   at ", run.Error);
        Assert.DoesNotContain("   at ", run.Output);
        Assert.DoesNotContain("Exception", run.Output);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    [GeneratedRegex(@"^\d+\.\d+\.\d+(\+[0-9a-f]{7})?$")]
    private static partial Regex VersionText();
}
