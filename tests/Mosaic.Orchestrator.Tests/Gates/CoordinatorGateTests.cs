using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Gates;

/// <summary>A Coordinator we do not own, played by a real HTTP server on loopback that answers as the test says.</summary>
public sealed class FakeCoordinator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<JsonElement> _requests = new();
    private int _calls;

    private FakeCoordinator(WebApplication app) => _app = app;

    /// <summary>Given the call number (1, 2, ...), writes the answer.</summary>
    public Func<int, HttpContext, Task> Answer { get; set; } = (_, http) => http.Response.WriteAsJsonAsync(new { approved = true, gate = "all" });

    public IReadOnlyList<JsonElement> Requests => [.. _requests];

    public string Url => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static async Task<FakeCoordinator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeCoordinator(app);
        app.MapPost("/api/quality/check", async (HttpContext http) =>
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body);
            fake._requests.Enqueue(body.RootElement.Clone());
            await fake.Answer(Interlocked.Increment(ref fake._calls), http);
        });
        await app.StartAsync();
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(deadline.Token);
        await _app.DisposeAsync();
    }
}

public sealed class CoordinatorGateTests
{
    private static async Task<(TestHost Host, JsonElement Status)> RunAsync(FakeCoordinator coordinator, string taskId, Action<Dictionary<string, string?>>? more = null)
    {
        var remote = GitRemote.Create(taskId.ToLowerInvariant());
        var host = await TestHost.StartAsync(s =>
        {
            s["COORDINATOR_URL"] = coordinator.Url;
            s["COORDINATOR_TIMEOUT_SECONDS"] = "1";
            s["AGENT_COMMAND"] = "echo change > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
            more?.Invoke(s);
        });
        var id = await host.SpawnAsync(taskId, repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));
        return (host, await host.StatusAsync(id));
    }

    [Fact]
    public async Task An_approval_lets_the_branch_be_pushed_and_the_request_describes_the_change()
    {
        await using var coordinator = await FakeCoordinator.StartAsync();
        var (host, status) = await RunAsync(coordinator, "T-coord-ok");
        await using var _ = host;

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.True(status.GetProperty("pushed").GetBoolean());
        var request = Assert.Single(coordinator.Requests);
        Assert.Equal("T-coord-ok", request.GetProperty("taskId").GetString());
        Assert.Equal(status.GetProperty("agentId").GetGuid(), request.GetProperty("agentId").GetGuid());
        Assert.Equal(["feature.txt"], request.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Contains("feature.txt", request.GetProperty("diffSummary").GetString());
        var gate = Assert.Single(status.GetProperty("gates").EnumerateArray());
        Assert.Equal(("all", "passed"), (gate.GetProperty("gate").GetString(), gate.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_rejection_fails_the_run_with_the_coordinators_gate_and_details()
    {
        await using var coordinator = await FakeCoordinator.StartAsync();
        coordinator.Answer = (_, http) => http.Response.WriteAsJsonAsync(new
        {
            approved = false,
            gate = "lint",
            message = "3 lint errors",
            details = new { errors = new[] { "feature.txt:1 trailing space" } },
        });
        var (host, status) = await RunAsync(coordinator, "T-coord-no");
        await using var _ = host;

        Assert.Equal("gate-failed:lint", status.GetProperty("reason").GetString());
        Assert.Contains("3 lint errors", status.GetProperty("error").GetString());
        Assert.False(status.GetProperty("pushed").GetBoolean());
        Assert.Contains("trailing space", status.GetProperty("gates")[0].GetProperty("outputTail").GetString());
    }

    [Fact]
    public async Task A_server_error_is_retried_and_the_later_approval_counts()
    {
        await using var coordinator = await FakeCoordinator.StartAsync();
        coordinator.Answer = (call, http) =>
        {
            if (call == 1)
            {
                http.Response.StatusCode = 500;
                return Task.CompletedTask;
            }

            return http.Response.WriteAsJsonAsync(new { approved = true, gate = "all" });
        };
        var (host, status) = await RunAsync(coordinator, "T-coord-retry");
        await using var _ = host;

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal(2, coordinator.Requests.Count);
    }

    [Fact]
    public async Task A_coordinator_that_hangs_is_timed_out_and_the_run_fails_closed()
    {
        await using var coordinator = await FakeCoordinator.StartAsync();
        coordinator.Answer = (_, http) => Task.Delay(Timeout.Infinite, http.RequestAborted);
        var (host, status) = await RunAsync(coordinator, "T-coord-hang");
        await using var _ = host;

        Assert.Equal("gate-failed:coordinator", status.GetProperty("reason").GetString());
        Assert.Contains("could not be reached", status.GetProperty("error").GetString());
        Assert.Equal(3, coordinator.Requests.Count);
        Assert.False(status.GetProperty("pushed").GetBoolean());
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("""{"approved":"yes","gate":"all"}""")]
    [InlineData("""{"gate":"all"}""")]
    [InlineData("[true]")]
    public async Task An_answer_that_is_not_the_expected_json_fails_closed(string answer)
    {
        await using var coordinator = await FakeCoordinator.StartAsync();
        coordinator.Answer = (_, http) =>
        {
            http.Response.ContentType = "application/json";
            return http.Response.WriteAsync(answer);
        };
        var (host, status) = await RunAsync(coordinator, $"T-coord-bad-{Math.Abs(answer.GetHashCode(StringComparison.Ordinal)) % 10000}");
        await using var _ = host;

        Assert.Equal("gate-failed:coordinator", status.GetProperty("reason").GetString());
        Assert.False(status.GetProperty("pushed").GetBoolean());
    }
}
