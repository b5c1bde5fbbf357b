using Microsoft.Extensions.Options;
using Mosaic.Orchestrator;
using Mosaic.Orchestrator.Cli;

if (args.Length > 0 && args[0] != "serve" && !args[0].StartsWith("--", StringComparison.Ordinal))
{
    return CommandLine.Run(args);
}

var builder = WebApplication.CreateBuilder(args.SkipWhile(a => a == "serve").ToArray());
builder.AddOrchestrator();
var app = builder.Build();
app.MapOrchestrator();
try
{
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("mosaic-orchestrator: refusing to start:\n  " + string.Join("\n  ", ex.Failures));
    return 1;
}

/// <summary>Visible to tests and the benchmark, which host the real application.</summary>
public partial class Program;
