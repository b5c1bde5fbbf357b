using Mosaic.Orchestrator;
using Mosaic.Orchestrator.Cli;

if (!CommandLine.IsServe(args, out var settings))
{
    return await CommandLine.RunAsync(args);
}

// The content root is the install folder, not the working directory: appsettings.json is found wherever the
// service is started from, and a DATA_DIR under the working directory is not watched for config changes.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = settings,
    ContentRootPath = AppContext.BaseDirectory,
});
var startup = new ServeStartup(Console.Error);
startup.WarnAboutUnknownSettings(Environment.GetEnvironmentVariables(), settings);
if (!startup.SettingsAreUsable(builder.Configuration))
{
    return 1;
}

startup.HideHostStartFailure(builder.Logging);
try
{
    builder.AddOrchestrator();
    await using var app = builder.Build();
    app.MapOrchestrator();
    app.Lifetime.ApplicationStarted.Register(startup.Started);
    await ServeStartup.ServeAsync(app);
    return 0;
}
catch (Exception ex) when (startup.Refuses(ex, builder.Configuration))
{
    return 1;
}

/// <summary>Visible to tests and the benchmark, which host the real application.</summary>
public partial class Program;
