using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Cli;

/// <summary>
/// The command a command line names. Only serve starts the host; help, version and scan run without it, so they
/// bind no port and create no DATA_DIR. Exit codes: 0 ok, 1 refused to start (serve) or secrets found (scan),
/// 2 usage error.
/// </summary>
public static class CommandLine
{
    public const string Usage = """
        usage: mosaic-orchestrator [serve] [--NAME=value ...]
               mosaic-orchestrator scan [PATH...] [--git A..B] [--staged] [--format text|json|sarif] [--rules FILE]
               mosaic-orchestrator help | version

        commands:
          serve     run the service (the default): the HTTP API on ORCHESTRATOR_HOST:ORCHESTRATOR_PORT (127.0.0.1:3001)
          scan      scan files, a git range or staged changes for secrets; exit 1 on findings (scan --help)
          help      show this text (also -h, --help)
          version   show the version (also --version)

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
