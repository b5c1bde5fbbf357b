namespace Mosaic.Orchestrator.Cli;

/// <summary>Commands other than serve. Exit codes: 0 ok, 1 secrets found (scan), 2 usage error.</summary>
public static class CommandLine
{
    public const string Usage = """
        usage: mosaic-orchestrator [serve] [--NAME=value ...]
          serve     run the service (the default); settings come from the environment, appsettings.json or --NAME=value
          scan      scan files, a git range or staged changes for secrets (scan --help)
          help      show this text
        """;

    public static Task<int> RunAsync(string[] args) => args[0] == "scan"
        ? ScanCommand.RunAsync(args[1..], Console.Out, Console.Error, Environment.CurrentDirectory, CancellationToken.None)
        : Task.FromResult(Run(args));

    public static int Run(string[] args)
    {
        if (args[0] is "help" or "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return 0;
        }

        Console.Error.WriteLine($"mosaic-orchestrator: unknown command '{args[0]}'");
        Console.Error.WriteLine(Usage);
        return 2;
    }
}
