using System.Diagnostics;
using System.Text;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// The real executable serving on a free loopback port, as an operator runs it: its own process, its settings in the
/// environment, its console output kept for the test to read.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public int Pid => _process.Id;

    /// <summary>Everything written to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<ServiceProcess> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        var port = Loopback.FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mosaic-orchestrator.dll"));
        start.Environment["ORCHESTRATOR_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Wait.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the service exited with {process.ExitCode}:\n{service.Output}");
            }

            try
            {
                using var health = await service.Client.GetAsync("/health");
                return health.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the service to answer /health", TimeSpan.FromSeconds(60));
        return service;
    }

    /// <summary>SIGTERM, as a service manager stops it; returns how long it took to exit.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var started = Stopwatch.StartNew();
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _process.WaitForExitAsync(deadline.Token);
        }

        return started.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        Client.Dispose();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(line).Append('\n');
        }
    }
}
