using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class HealthApiTests
{
    [Fact]
    public async Task Health_answers_healthy_with_uptime_and_timestamp_without_a_key()
    {
        await using var host = await TestHost.StartAsync(s => s["ORCHESTRATOR_API_KEY"] = "secret-key");
        using var response = await host.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("uptime").GetDouble() >= 0);
        Assert.True(DateTimeOffset.TryParse(body.GetProperty("timestamp").GetString(), out var at));
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - at).TotalMinutes) < 1);
        Assert.Equal(Mosaic.Orchestrator.Configuration.ServiceVersion.Text, body.GetProperty("version").GetString());
        Assert.StartsWith("0.9.0", body.GetProperty("version").GetString());
    }

    [Fact]
    public async Task Uptime_counts_from_the_start_not_from_the_first_health_request()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var host = await TestHost.StartAsync(time: time, withoutWorker: true);
        time.Advance(TimeSpan.FromSeconds(42));

        var body = await host.Client.GetFromJsonAsync<JsonElement>("/health");

        Assert.Equal(42, body.GetProperty("uptime").GetDouble());
    }

    [Fact]
    public async Task Ready_is_200_when_store_git_and_runtime_are_usable()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.Client.GetAsync("/health/ready");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        foreach (var check in new[] { "store", "git", "runtime" })
        {
            Assert.Equal("pass", body.GetProperty("checks").GetProperty(check).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Ready_is_503_naming_the_runtime_when_the_command_is_missing()
    {
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = null);
        using var response = await host.Client.GetAsync("/health/ready");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("not-ready", body.GetProperty("status").GetString());
        Assert.Equal(new[] { "runtime" }, body.GetProperty("failing").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Contains("AGENT_COMMAND", body.GetProperty("checks").GetProperty("runtime").GetProperty("detail").GetString());
    }
}
