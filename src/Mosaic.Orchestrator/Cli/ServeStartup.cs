using System.Collections;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Cli;

/// <summary>
/// What `serve` says before it serves: a warning per setting it will ignore, and, when it cannot start, one line per
/// problem on stderr ("mosaic-orchestrator: refusing to start: ...") and exit code 1, never a stack trace.
/// </summary>
public sealed class ServeStartup(TextWriter error)
{
    public const string RefusalPrefix = "mosaic-orchestrator: refusing to start: ";
    public const string WarningPrefix = "mosaic-orchestrator: warning: ";

    /// <summary>The host logs a failed start with its exception before it rethrows it (see <see cref="HideHostStartFailure"/>).</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private volatile bool _started;

    public void WarnAboutUnknownSettings(IDictionary environment, IReadOnlyList<string> args)
    {
        foreach (var warning in UnknownSettings.Find(environment, args))
        {
            error.WriteLine(WarningPrefix + warning);
        }
    }

    /// <summary>False (after saying why) when a setting is bad; checked before the host is built.</summary>
    public bool SettingsAreUsable(IConfiguration configuration)
    {
        var problems = SettingsCheck.Problems(configuration);
        Refuse(problems);
        return problems.Count == 0;
    }

    /// <summary>
    /// The host logs "Hosting failed to start" with the whole exception (about 30 lines) and then rethrows it, and
    /// the refusal that <see cref="Refuses"/> prints says the same in one line. Only that category's errors, and only
    /// until the application has started, are dropped; an exception that is not a refusal still ends the process
    /// with its stack trace, printed once by the runtime.
    /// </summary>
    public void HideHostStartFailure(ILoggingBuilder logging) =>
        // This rule replaces the configured level for the category, whose other lines are Debug chatter ("Hosting
        // starting"); from Information up it shows what it showed before.
        logging.AddFilter(HostCategory, level => level >= LogLevel.Information && (level < LogLevel.Error || _started));

    /// <summary>
    /// Runs the host until it stops. A start that fails (a port in use) is stopped before it is disposed: the host alone
    /// would dispose the services while the background services it had already started still ran, and the first
    /// retention sweep, failing on a store that was gone, printed its stack trace after the one-line refusal.
    /// </summary>
    public static async Task ServeAsync(IHost host)
    {
        try
        {
            await host.StartAsync();
        }
        catch
        {
            try
            {
                await host.StopAsync();
            }
            catch (Exception)
            {
                // The start's failure is the one to report.
            }

            throw;
        }

        await host.WaitForShutdownAsync();
    }

    /// <summary>Call from ApplicationStarted: from then on failures are not start-up refusals.</summary>
    public void Started() => _started = true;

    /// <summary>True (after printing it) when the exception is a refusal to start that the operator can fix.</summary>
    public bool Refuses(Exception exception, IConfiguration configuration)
    {
        if (_started || Explain(exception, configuration) is not { } lines)
        {
            return false;
        }

        Refuse(lines);
        return true;
    }

    public static IReadOnlyList<string>? Explain(Exception exception, IConfiguration configuration) => exception switch
    {
        StartupRefusedException refused => [refused.Message],
        OptionsValidationException invalid => [.. invalid.Failures.Select(SettingNames.Plain)],
        IOException { InnerException: AddressInUseException } or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } =>
            [$"ORCHESTRATOR_PORT {Endpoint(configuration).Port} is already in use on {Endpoint(configuration).Host}"],
        // Only a bind fails this way: Kestrel lets the socket's error out unwrapped.
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable } =>
            [$"ORCHESTRATOR_HOST {Endpoint(configuration).Host} is not an address of this machine"],
        IOException bind when bind.Message.StartsWith("Failed to bind", StringComparison.Ordinal) =>
            [$"cannot listen on {Endpoint(configuration).Host} port {Endpoint(configuration).Port} (ORCHESTRATOR_HOST, ORCHESTRATOR_PORT): {Innermost(bind).Message}"],
        _ => null,
    };

    private void Refuse(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            error.WriteLine(RefusalPrefix + problem);
        }
    }

    private static (string Host, int Port) Endpoint(IConfiguration configuration) =>
        configuration.Get<OrchestratorOptions>() is { } options ? (options.Host, options.Port) : ("?", 0);

    private static Exception Innermost(Exception exception) => exception.InnerException is { } inner ? Innermost(inner) : exception;
}
