using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;

namespace Mosaic.Orchestrator.Bench;

/// <summary>
/// The model gateway's overhead: a streamed Messages answer fetched directly from an upstream on loopback, and through
/// the gateway (the service's own /v1 route, a live credential), alternating in one run. Time to first byte on small
/// answers, bytes per second on large ones. Both servers and the client share this process and its 2 cores.
/// </summary>
public static class GatewayBench
{
    public static async Task RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
        var largeMegabytes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;

        await using var upstream = await StartAsync(app => app.MapPost("/v1/messages", StreamAnswerAsync));
        var upstreamUrl = Address(upstream);
        // The floor: the least any HTTP relay on the same stack does (Kestrel in, HttpClient out, bytes copied).
        using var relayClient = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None });
        await using var relay = await StartAsync(app => app.MapPost("/v1/messages", async (HttpContext http) =>
        {
            using var forward = new HttpRequestMessage(HttpMethod.Post, upstreamUrl + "/v1/messages") { Content = new StreamContent(http.Request.Body) };
            forward.Headers.Add("x-bench-events", http.Request.Headers["x-bench-events"].ToString());
            using var answer = await relayClient.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead);
            http.Response.ContentType = "text/event-stream";
            await (await answer.Content.ReadAsStreamAsync()).CopyToAsync(http.Response.Body);
        }));
        await using var gateway = await StartAsync(app => app.MapModelGateway(), services =>
        {
            services.AddModelGateway();
            // The account's shared state in memory: this measures the relay, not a store.
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton<Mosaic.Orchestrator.Queue.QueueSignal>();
            services.AddSingleton<Mosaic.Orchestrator.Events.IEventHistory, NoEvents>();
            services.AddSingleton<IModelAccountStore, MemoryAccount>();
            services.Configure<ClaudeCodeOptions>(o =>
            {
                o.ApiKey = "sk-bench-upstream-key";
                o.BaseUrl = upstreamUrl;
            });
        });
        var (credential, _) = gateway.Services.GetRequiredService<GatewayCredentials>().Issue(Guid.NewGuid(), 1);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4, AutomaticDecompression = DecompressionMethods.None });
        var direct = new Target("direct to the upstream", new Uri(upstreamUrl + "/v1/messages"), "sk-bench-upstream-key");
        var proxied = new Target("through the gateway", new Uri(Address(gateway) + "/v1/messages"), credential);
        var bare = new Target("through a bare relay (the floor)", new Uri(Address(relay) + "/v1/messages"), "unused");
        Target[] all = [direct, bare, proxied];

        // Warm-up: JIT, connections.
        foreach (var target in all)
        {
            for (var i = 0; i < 200; i++)
            {
                await FetchAsync(client, target, events: 8);
            }
        }

        var ttfb = all.ToDictionary(t => t, _ => new List<double>());
        var total = all.ToDictionary(t => t, _ => new List<double>());
        for (var i = 0; i < requests; i++)
        {
            foreach (var target in i % 2 == 0 ? all : all.Reverse())
            {
                var (first, whole, _) = await FetchAsync(client, target, events: 8);
                ttfb[target].Add(first);
                total[target].Add(whole);
            }
        }

        var largeEvents = largeMegabytes * 1024 * 1024 / EventBytes;
        var throughput = all.ToDictionary(t => t, _ => new List<double>());
        for (var i = 0; i < 20; i++)
        {
            foreach (var target in i % 2 == 0 ? all : all.Reverse())
            {
                var (_, whole, bytes) = await FetchAsync(client, target, largeEvents);
                throughput[target].Add(bytes / (whole / 1000) / (1024 * 1024));
            }
        }

        Console.WriteLine($"# model gateway overhead ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {requests} small and 20 large ({largeMegabytes} MiB) streamed answers each path, alternating)");
        Console.WriteLine("| path | TTFB p50 (ms) | TTFB p99 (ms) | small answer p50 (ms) | large answer MiB/s (median) |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var target in all)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {target.Name} | {Percentile(ttfb[target], 50):0.000} | {Percentile(ttfb[target], 99):0.000} | {Percentile(total[target], 50):0.000} | {Percentile(throughput[target], 50):0} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"TTFB p50 added by the gateway: {Percentile(ttfb[proxied], 50) - Percentile(ttfb[direct], 50):0.000} ms (target < 1 ms); " +
            $"throughput through the gateway / direct = {Percentile(throughput[proxied], 50) / Percentile(throughput[direct], 50):0.00} (target >= 0.8); " +
            $"the floor, a bare relay / direct = {Percentile(throughput[bare], 50) / Percentile(throughput[direct], 50):0.00}; gateway / bare relay = {Percentile(throughput[proxied], 50) / Percentile(throughput[bare], 50):0.00}"));
    }

    private sealed record Target(string Name, Uri Url, string Key);

    private sealed class NoEvents : Mosaic.Orchestrator.Events.IEventHistory
    {
        public Task<Mosaic.Orchestrator.Events.AgentEvent> AppendAsync(Mosaic.Orchestrator.Events.AgentEvent agentEvent, CancellationToken cancellationToken) => Task.FromResult(agentEvent);

        public Task<IReadOnlyList<Mosaic.Orchestrator.Events.AgentEvent>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<Mosaic.Orchestrator.Events.AgentEvent>>([]);
    }

    private sealed class MemoryAccount : IModelAccountStore
    {
        private long _spend;

        public Task<long> AddSpendAsync(DateOnly day, long microUsd, CancellationToken cancellationToken) => Task.FromResult(Interlocked.Add(ref _spend, microUsd));

        public Task<long> GetSpendAsync(DateOnly day, CancellationToken cancellationToken) => Task.FromResult(Interlocked.Read(ref _spend));

        public Task ParkAsync(DateTimeOffset until, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<DateTimeOffset?> GetParkedUntilAsync(CancellationToken cancellationToken) => Task.FromResult<DateTimeOffset?>(null);
    }

    private const int EventBytes = 256;

    private static async Task<(double FirstByteMs, double TotalMs, long Bytes)> FetchAsync(HttpClient client, Target target, int events)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url)
        {
            Content = new StringContent($$"""{"model":"bench","max_tokens":16,"stream":true,"events":{{events}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", target.Key);
        request.Headers.Add("x-bench-events", events.ToString(CultureInfo.InvariantCulture));
        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        var read = await body.ReadAsync(buffer);
        var first = clock.Elapsed.TotalMilliseconds;
        long bytes = read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            bytes += read;
        }

        return (first, clock.Elapsed.TotalMilliseconds, bytes);
    }

    /// <summary>A Messages-API-shaped stream: message_start, text deltas padded to EventBytes each, message_delta, message_stop.</summary>
    private static async Task StreamAnswerAsync(HttpContext http)
    {
        var events = int.Parse(http.Request.Headers["x-bench-events"].ToString(), CultureInfo.InvariantCulture);
        http.Response.ContentType = "text/event-stream";
        var start = Encoding.UTF8.GetBytes("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n");
        await http.Response.Body.WriteAsync(start);
        await http.Response.Body.FlushAsync();
        var prefix = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"";
        var delta = Encoding.UTF8.GetBytes(prefix + new string('x', EventBytes - prefix.Length - 6) + "\"}}\n\n");
        var batch = new byte[delta.Length * 64];
        for (var i = 0; i < 64; i++)
        {
            delta.CopyTo(batch, i * delta.Length);
        }

        for (var sent = 0; sent < events; sent += 64)
        {
            var count = Math.Min(64, events - sent);
            await http.Response.Body.WriteAsync(batch.AsMemory(0, count * delta.Length));
        }

        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    }

    private static async Task<WebApplication> StartAsync(Action<WebApplication> map, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    private static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
