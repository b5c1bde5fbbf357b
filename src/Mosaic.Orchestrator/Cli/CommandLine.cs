namespace Mosaic.Orchestrator.Cli;

/// <summary>Commands other than serve. Exit codes: 0 ok, 2 usage error.</summary>
public static class CommandLine
{
    public const string Usage = """
        usage: mosaic-orchestrator [serve] [--NAME=value ...]
          serve     run the service (the default); settings come from the environment, appsettings.json or --NAME=value
          help      show this text
        """;

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
