using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Cli;

/// <summary>
/// The command a command line names. Only serve starts the host; help, version and scan run without it, so they
/// bind no port and create no DATA_DIR; the client commands (<see cref="ClientCommands"/>) talk to a running service.
/// Exit codes: 0 ok, 1 refused to start (serve), secrets found (scan) or the operation failed (a client command),
/// 2 usage error, 3 the service could not be reached (a client command).
/// </summary>
public static class CommandLine
{
    public const string Usage = """
        usage: mosaic-orchestrator [serve] [--NAME=value ...]
               mosaic-orchestrator scan [PATH...] [--git A..B] [--staged] [--format text|json|sarif] [--rules FILE]
               mosaic-orchestrator COMMAND [ARGS] [--url URL] [--api-key KEY] [--json]   (a client of a running service)
               mosaic-orchestrator help | version

        commands:
          serve     run the service (the default): the HTTP API on ORCHESTRATOR_HOST:ORCHESTRATOR_PORT (127.0.0.1:3001)
          scan      scan files, a git range or staged changes for secrets; exit 1 on findings (scan --help)
          help      show this text (also -h, --help)
          version   show the version (also --version)

        client commands (--url or MOSAIC_URL, default http://127.0.0.1:3001; --api-key or MOSAIC_API_KEY;
        --json prints the service's JSON; COMMAND --help shows one):
          spawn --task-id T --repository URL [--branch B] [--type worker|reviewer|tester] [--priority N]
                [--work-item W ...] [--skill S ...] [--wait]     queue a task; --wait follows it to its end
          list [--status S] [--task-id T]                        agents, newest first
          status AGENT_ID                                        an agent's record
          logs AGENT_ID [-f|--follow] [--attempt N]              its latest (or Nth) attempt's log; -f until it ends
          diff AGENT_ID                                          its commits against their base
          kill AGENT_ID [--reason R] | kill-all [--reason R]     kill one live agent, or every one
          watch [--agent AGENT_ID]                               lifecycle events, one line each
        client exit codes: 0 ok, 1 the operation failed or the agent did not complete, 2 usage error,
        3 the service could not be reached.

        settings: environment variables (ORCHESTRATOR_PORT=3002), appsettings.json beside the executable, or
        --NAME=value arguments (--ORCHESTRATOR_PORT=3002), the last winning. Unknown names are warned about and
        ignored; a bad value stops the start (exit 1) with one line per problem.
        Every setting, the HTTP API and the exit codes are described in README.md.
        """;

    /// <summary>
    /// Whether the arguments run the service, and the settings arguments it gets: none, "serve", or arguments that
    /// start with "--" (settings) do, unless one of them asks for help or the version.
    /// </summary>
    public static bool IsServe(string[] args, out string[] settings)
    {
        settings = args is ["serve", ..] ? args[1..] : args;
        var serve = args.Length == 0 || args[0] == "serve" || args[0].StartsWith("--", StringComparison.Ordinal);
        return serve && !settings.Any(a => a is "--help" or "-h" or "--version" || IsShortOption(a));
    }

    public static Task<int> RunAsync(string[] args) => args.Length > 0 && args[0] == "scan"
        ? ScanCommand.RunAsync(args[1..], Console.Out, Console.Error, Environment.CurrentDirectory, CancellationToken.None)
        : args.Length > 0 && ClientCommands.IsClientCommand(args[0])
            ? ClientCommands.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, CancellationToken.None)
            : Task.FromResult(Run(args, Console.Out, Console.Error));

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        // Flags among serve's settings count as well: "serve --help" and "--PORT=1 --version" do not start the service.
        var first = args.Length > 0 ? args[0] : "help";
        var flags = first == "serve" || first.StartsWith("--", StringComparison.Ordinal) ? args : [first];
        if (first == "help" || flags.Any(a => a is "-h" or "--help"))
        {
            output.WriteLine(Usage);
            return 0;
        }

        if (first == "version" || flags.Contains("--version"))
        {
            output.WriteLine($"mosaic-orchestrator {ServiceVersion.Text}");
            return 0;
        }

        error.WriteLine(flags.FirstOrDefault(IsShortOption) is { } option
            ? $"mosaic-orchestrator: unknown option '{option}'; settings are given as --NAME=value"
            : $"mosaic-orchestrator: unknown command '{first}'");
        error.WriteLine(Usage);
        return 2;
    }

    /// <summary>A single-dash option other than -h (not a negative number, which may be a value): the host's
    /// configuration would throw on "-x=1" and silently ignore "-x".</summary>
    private static bool IsShortOption(string arg) => arg.Length > 1 && arg[0] == '-' && char.IsLetter(arg[1]) && arg != "-h";
}
