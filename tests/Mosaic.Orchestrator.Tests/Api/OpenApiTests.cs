using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class OpenApiTests
{
    private const string Key = "0123456789abcdef-openapi-key";

    /// <summary>The document and the UI themselves, /metrics and the dashboard (/, /dashboard/*): the service's surface, not its API.</summary>
    // The model gateway's /v1 is the Anthropic Messages API passed through, documented by Anthropic, not ours.
    private static readonly string[] NotInTheDocument = ["/openapi", "/scalar", "/metrics", "/v1/", "/dashboard/"];

    [Fact]
    public async Task The_document_is_OpenAPI_3_and_lists_every_route_the_application_maps()
    {
        await using var host = await TestHost.StartAsync();
        var document = await host.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        Assert.False(string.IsNullOrEmpty(document.GetProperty("info").GetProperty("title").GetString()));

        var documented = new HashSet<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                documented.Add($"{operation.Name.ToUpperInvariant()} {Normal(path.Name)}");
            }
        }

        // Every route the application maps, from the routing system itself: a new route without a description fails here.
        var mapped = new HashSet<string>();
        foreach (var endpoint in host.Get<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            if (pattern == "/" || NotInTheDocument.Any(p => pattern.StartsWith(p, StringComparison.Ordinal)))
            {
                continue;
            }

            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods;
            Assert.True(methods is { Count: > 0 }, $"{pattern} answers every method; map it with one");
            foreach (var method in methods!)
            {
                mapped.Add($"{method} {Normal(pattern)}");
            }
        }

        Assert.True(mapped.Count >= 12, string.Join(", ", mapped));
        Assert.Empty(mapped.Except(documented));
        Assert.Empty(documented.Except(mapped));
    }

    [Fact]
    public async Task Every_agents_operation_has_its_responses_its_problems_and_the_key()
    {
        await using var host = await TestHost.StartAsync();
        var document = await host.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-API-Key", scheme.GetProperty("name").GetString());

        var problems = new Dictionary<string, string[]>
        {
            ["POST /agents/spawn"] = ["400", "409", "413", "415", "503"],
            ["POST /agents/spawn/batch"] = ["400", "413", "415", "503"],
            ["GET /agents"] = ["400"],
            ["GET /agents/{agentId}/status"] = ["404"],
            ["POST /agents/{agentId}/kill"] = ["400", "404", "409", "413"],
            ["POST /agents/kill-all"] = ["400", "413"],
            ["POST /agents/{agentId}/resume"] = ["400", "404", "409", "413", "422", "503"],
            ["POST /agents/emergency-stop"] = ["400", "413"],
            ["GET /agents/audit"] = ["400"],
            ["GET /agents/{agentId}/logs"] = ["400", "404"],
            ["GET /agents/{agentId}/diff"] = ["404"],
        };
        var seen = 0;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            var isAgents = path.Name.StartsWith("/agents", StringComparison.Ordinal);
            foreach (var operation in path.Value.EnumerateObject())
            {
                var name = $"{operation.Name.ToUpperInvariant()} {Normal(path.Name)}";
                var op = operation.Value;
                Assert.True(op.TryGetProperty("operationId", out _), $"{name} has no operationId (WithName)");
                Assert.True(op.TryGetProperty("summary", out _), $"{name} has no summary");
                var responses = op.GetProperty("responses");
                Assert.Contains(responses.EnumerateObject(), r => r.Name.StartsWith('2'));
                if (!isAgents)
                {
                    Assert.False(op.TryGetProperty("security", out _), $"{name} is open and must not ask for the key");
                    continue;
                }

                seen++;
                var security = op.GetProperty("security").EnumerateArray().Single();
                Assert.True(security.TryGetProperty("ApiKey", out _), name);
                foreach (var status in new[] { "401", "429" }.Concat(problems.GetValueOrDefault(name, [])))
                {
                    Assert.True(responses.TryGetProperty(status, out var response), $"{name} does not document {status}");
                    var content = response.GetProperty("content");
                    Assert.True(content.TryGetProperty("application/problem+json", out var problem), $"{name} {status} is not a problem");
                    Assert.Contains("ProblemDetails", problem.GetProperty("schema").GetProperty("$ref").GetString());
                }
            }
        }

        Assert.Equal(15, seen);
        var batch = document.GetProperty("paths").GetProperty("/agents/spawn/batch").GetProperty("post");
        Assert.EndsWith("BatchSpawnRequest", batch.GetProperty("requestBody").GetProperty("content").GetProperty("application/json")
            .GetProperty("schema").GetProperty("$ref").GetString());
        Assert.All(new[] { "202", "207" }, status => Assert.True(
            batch.GetProperty("responses").GetProperty(status).GetProperty("content").TryGetProperty("application/json", out _), status));
        var spawn = document.GetProperty("paths").GetProperty("/agents/spawn").GetProperty("post");
        Assert.EndsWith("SpawnRequest", spawn.GetProperty("requestBody").GetProperty("content").GetProperty("application/json")
            .GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(spawn.GetProperty("requestBody").GetProperty("required").GetBoolean());
        var kill = document.GetProperty("paths").GetProperty("/agents/{agentId}/kill").GetProperty("post").GetProperty("requestBody");
        Assert.False(kill.TryGetProperty("required", out var required) && required.GetBoolean(), "a kill body is optional");
        Assert.EndsWith("KillRequest", kill.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        var spawnSchema = document.GetProperty("components").GetProperty("schemas").GetProperty("SpawnRequest");
        Assert.Equal(["taskId", "agentType", "context"], spawnSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.True(spawn.GetProperty("responses").GetProperty("202").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(document.GetProperty("paths").GetProperty("/agents/events").GetProperty("get").GetProperty("responses")
            .GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
    }

    [Fact]
    public async Task Scalar_answers_HTML_that_reads_the_document()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.Client.GetAsync("/scalar");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("openapi/v1.json", html);
        Assert.Contains("\"telemetry\":false", html);
        using var script = await host.Client.GetAsync("/scalar/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Theory]
    [InlineData("/openapi/v1.json")]
    [InlineData("/scalar")]
    [InlineData("/scalar/scalar.js")]
    [InlineData("/metrics")]
    public async Task With_a_key_the_operators_surface_needs_it_and_health_stays_open(string path)
    {
        await using var host = await TestHost.StartAsync(s => s["ORCHESTRATOR_API_KEY"] = Key);
        using (var response = await host.Client.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, path))
        {
            request.Headers.Add("X-API-Key", "wrong");
            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, path))
        {
            request.Headers.Add("X-API-Key", Key);
            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var health = await host.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    /// <summary>"/agents/" (a group's "/" route) and "/agents" are the same path.</summary>
    private static string Normal(string path) => path.Length > 1 ? path.TrimEnd('/') : path;
}
