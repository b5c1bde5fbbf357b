using Microsoft.Extensions.Options;
using Mosaic.Orchestrator;
using Mosaic.Orchestrator.Cli;
using Mosaic.Orchestrator.Configuration;

if (args.Length > 0 && args[0] != "serve" && !args[0].StartsWith("--", StringComparison.Ordinal))
{
    return await CommandLine.RunAsync(args);
}

// The content root is the install folder, not the working directory: appsettings.json is found wherever the
// service is started from, and a DATA_DIR under the working directory is not watched for config changes.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = [.. args.SkipWhile(a => a == "serve")],
    ContentRootPath = AppContext.BaseDirectory,
});
try
{
    builder.AddOrchestrator();
    var app = builder.Build();
    app.MapOrchestrator();
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("mosaic-orchestrator: refusing to start:\n  " + string.Join("\n  ", ex.Failures.Select(SettingNames.Explain)));
    return 1;
}
catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
{
    // A setting of the wrong type (AGENT_NICE=abc): the binder's message names the key.
    await Console.Error.WriteLineAsync("mosaic-orchestrator: refusing to start: " + ex.Message);
    return 1;
}
catch (StartupRefusedException ex)
{
    await Console.Error.WriteLineAsync("mosaic-orchestrator: refusing to start: " + ex.Message);
    return 1;
}

/// <summary>Visible to tests and the benchmark, which host the real application.</summary>
public partial class Program;
