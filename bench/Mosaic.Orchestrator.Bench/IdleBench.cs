using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using System.Globalization;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// Resident memory at idle: the service (Release, embedded store in a fresh DATA_DIR, command runtime) next to a
/// trivial Kestrel app (<see cref="TrivialKestrel"/>: one route, what `dotnet new web` gives, Server GC like it), both
/// started in the same run, each asked once on /health/ready and then left alone for the given seconds; VmRSS
/// sampled five times a second apart, median. Usage: bench idle [seconds=20] [extra service settings NAME=value...]
/// </summary>
internal static class IdleBench
{
    public static async Task RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        var extra = args.Skip(1).Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);
        var dataDir = Path.Combine(Path.GetTempPath(), $"mosaic-idle-{Guid.NewGuid():N}");
        var settings = new Dictionary<string, string>(extra)
        {
            ["DATA_DIR"] = dataDir,
            ["AGENT_RUNTIME"] = "command",
            ["AGENT_COMMAND"] = "true",
        };
        try
        {
            await using var baseline = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" },
                "Mosaic.Orchestrator.Bench.dll", "kestrel-baseline");
            await using var service = await ServiceProcess.StartAsync(settings);
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var (trivial, trivialParts) = await SampleAsync(baseline.Pid);
            var (ours, ourParts) = await SampleAsync(service.Pid);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"idle {seconds:F0} s{(extra.Count > 0 ? $" ({string.Join(' ', extra.Select(e => $"{e.Key}={e.Value}"))})" : "")}: service {ours:F1} MB ({ourParts}), trivial Kestrel {trivial:F1} MB ({trivialParts}), ratio {ours / trivial:F2}x"));
        }
        finally
        {
            if (Directory.Exists(dataDir))
            {
                Directory.Delete(dataDir, recursive: true);
            }
        }
    }

    private static async Task<(double Megabytes, string Parts)> SampleAsync(int pid)
    {
        var samples = new List<(double Rss, string Parts)>();
        for (var i = 0; i < 5; i++)
        {
            var status = File.ReadAllLines($"/proc/{pid}/status").Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim());
            double Kb(string name) => double.Parse(status[name].Split(' ')[0], CultureInfo.InvariantCulture);
            samples.Add((Kb("VmRSS") / 1024, string.Create(CultureInfo.InvariantCulture, $"anon {Kb("RssAnon") / 1024:F0}, files {Kb("RssFile") / 1024:F0}")));
            await Task.Delay(1000);
        }

        return samples.OrderBy(s => s.Rss).ElementAt(2);
    }
}

/// <summary>The baseline for <see cref="IdleBench"/>: a trivial Kestrel app (a builder, one route), on ORCHESTRATOR_PORT.</summary>
internal static class TrivialKestrel
{
    public static async Task RunAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Environment.GetEnvironmentVariable("ORCHESTRATOR_PORT")}");
        var app = builder.Build();
        app.MapGet("/health/ready", () => "ok");
        app.MapGet("/health", () => "ok");
        await app.RunAsync();
    }
}
