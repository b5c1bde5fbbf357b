using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Api;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class AuthTests
{
    private const string Key = "0123456789abcdef-test-key";

    [Theory]
    [InlineData("GET", "/agents")]
    [InlineData("POST", "/agents/spawn")]
    [InlineData("GET", "/agents/00000000-0000-0000-0000-000000000001/status")]
    [InlineData("POST", "/agents/00000000-0000-0000-0000-000000000001/kill")]
    [InlineData("POST", "/agents/kill-all")]
    [InlineData("GET", "/agents/events")]
    [InlineData("GET", "/agents/queue/stats")]
    [InlineData("GET", "/agents/no-such-route")]
    public async Task Every_agents_route_needs_the_key(string method, string path)
    {
        await using var host = await TestHost.StartAsync(s => s["ORCHESTRATOR_API_KEY"] = Key);
        foreach (var presented in new[] { null, "wrong-key", Key + "x", Key[..^1] })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (presented is not null)
            {
                request.Headers.Add("X-API-Key", presented);
            }

            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("X-API-Key", problem.GetProperty("detail").GetString());
        }
    }

    /// <summary>
    /// Guessing is not free: after AUTH_FAILURES_PER_MINUTE failed checks from an address, that address gets 429 with
    /// Retry-After until the minute is over, whatever key it sends (a right key served meanwhile would still tell right
    /// from wrong). Another address is not affected, /health stays open, and after the window keys are checked again.
    /// </summary>
    [Fact]
    public async Task Failed_key_checks_are_throttled_per_address_for_the_rest_of_the_minute()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(s =>
        {
            s["ORCHESTRATOR_API_KEY"] = Key;
            s["AUTH_FAILURES_PER_MINUTE"] = "3";
        }, time);

        async Task<HttpResponseMessage> GetAsync(HttpClient client, string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/agents/queue/stats");
            if (key is not null)
            {
                request.Headers.Add("X-API-Key", key);
            }

            return await client.SendAsync(request);
        }

        foreach (var wrong in new[] { "guess-1", null, "guess-3" })
        {
            using var failed = await GetAsync(host.Client, wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
            time.Advance(TimeSpan.FromSeconds(10));
        }

        foreach (var key in new[] { "guess-4", Key, null })
        {
            using var blocked = await GetAsync(host.Client, key);
            Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
            Assert.Equal("application/problem+json", blocked.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(30), blocked.Headers.RetryAfter?.Delta); // the window began with the first failure, 30 s ago
            Assert.Contains("AUTH_FAILURES_PER_MINUTE", (await blocked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        }

        using (var health = await host.Client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using (var other = Loopback.ClientFrom("127.0.0.2", host.BaseAddress))
        {
            using var served = await GetAsync(other, Key);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            using var wrong = await GetAsync(other, "guess-other");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(30));
        using (var again = await GetAsync(host.Client, Key))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        using var counted = await GetAsync(host.Client, "guess-5");
        Assert.Equal(HttpStatusCode.Unauthorized, counted.StatusCode);
    }

    [Fact]
    public async Task The_right_key_passes_and_the_actor_is_the_key_identity_not_the_key()
    {
        await using var host = await TestHost.StartAsync(s => s["ORCHESTRATOR_API_KEY"] = Key);
        host.Client.DefaultRequestHeaders.Add("X-API-Key", Key);
        var id = await host.SpawnAsync("T-auth");
        var status = await host.StatusAsync(id);
        var actor = status.GetProperty("spawnedBy").GetString()!;
        Assert.Equal(ApiKeyAuthentication.KeyIdentity(Key), actor);
        Assert.StartsWith("key:", actor);
        Assert.DoesNotContain(Key[..8], actor);
    }

    [Fact]
    public async Task Without_a_key_on_loopback_the_api_is_open_and_callers_are_anonymous()
    {
        await using var host = await TestHost.StartAsync();
        var id = await host.SpawnAsync("T-open");
        Assert.Equal("anonymous", (await host.StatusAsync(id)).GetProperty("spawnedBy").GetString());
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.0.2.10")]
    public async Task Without_a_key_a_non_loopback_bind_refuses_to_start_and_says_why(string host)
    {
        var settings = TestHost.Defaults(TempDirectory.Create("refuse"));
        settings["ORCHESTRATOR_HOST"] = host;
        await using var app = TestHost.Build(settings);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("ORCHESTRATOR_API_KEY", error.Message);
        Assert.Contains("not loopback", error.Message);
    }

    [Theory]
    [InlineData("STORAGE_BACKEND", "mongodb", "STORAGE_BACKEND")]
    [InlineData("VALKEY_KEY_PREFIX", "with space", "VALKEY_KEY_PREFIX")]
    [InlineData("NODE_ID", "a/b", "NODE_ID")]
    [InlineData("AGENT_RUNTIME", "gpt-cli", "AGENT_RUNTIME")]
    [InlineData("MAX_CONCURRENT_AGENTS", "0", "MaxConcurrentAgents")]
    [InlineData("RETRY_MAX_DELAY_SECONDS", "1", "RETRY_MAX_DELAY_SECONDS")]
    [InlineData("ORCHESTRATOR_HOST", "myhost", "ORCHESTRATOR_HOST")]
    public async Task Bad_settings_refuse_to_start_naming_the_setting(string name, string value, string named)
    {
        var settings = TestHost.Defaults(TempDirectory.Create("bad"));
        settings[name] = value;
        await using var app = TestHost.Build(settings);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(named, error.Message);
    }
}
