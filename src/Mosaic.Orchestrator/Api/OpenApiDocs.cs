using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Mosaic.Orchestrator.Agents;
using Scalar.AspNetCore;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// The OpenAPI document at /openapi/v1.json, made from the route mappings (their typed results, Accepts, Produces and
/// ProducesProblem), and the Scalar UI at /scalar that reads it. Both are behind the API key like /agents
/// (<see cref="ApiKeyAuthentication"/>): the document lists what the service can do to agents.
/// </summary>
public static class OpenApiDocs
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string UiPath = "/scalar";
    public const string SecuritySchemeName = "ApiKey";

    public static IServiceCollection AddOpenApiDocs(this IServiceCollection services) =>
        services.AddOpenApi("v1", openApi =>
        {
            openApi.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            openApi.AddDocumentTransformer(DescribeServiceAsync);
        });

    public static WebApplication MapOpenApiDocs(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        // The UI makes no call of its own outside this service: no telemetry, fonts, agent or MCP features.
        app.MapScalarApiReference(UiPath, scalar => scalar
            .WithTitle("Mosaic Orchestrator API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            .DisableTelemetry()
            .DisableDefaultFonts()
            .DisableAgent()
            .DisableMcp()
            .AddPreferredSecuritySchemes(SecuritySchemeName));
        return app;
    }

    /// <summary>Title and version, the X-API-Key scheme, and the requirement of it on every /agents operation.</summary>
    private static Task DescribeServiceAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Mosaic Orchestrator",
            Version = Configuration.ServiceVersion.Text,
            Description = "Runs AI coding agents on git repositories. Errors are RFC 9457 problem details. Every /agents route, " +
                "/openapi, /scalar and /metrics need X-API-Key when ORCHESTRATOR_API_KEY is set; /health is open.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyAuthentication.HeaderName,
            Description = "The value of ORCHESTRATOR_API_KEY. Required only when the service has a key (without one it listens on loopback only).",
        };
        foreach (var (path, item) in document.Paths)
        {
            if (!ApiKeyAuthentication.IsProtected(path) || item.Operations is null)
            {
                continue;
            }

            foreach (var operation in item.Operations.Values)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, document)] = [] });
            }
        }

        return Task.CompletedTask;
    }
}

/// <summary>The spawn body as documented (read field by field by <see cref="SpawnRequestReader"/>, which names every bad field).</summary>
/// <param name="TaskId">1-128 characters of A-Z a-z 0-9 . _ -; one live agent per task.</param>
/// <param name="AgentType">worker, reviewer or tester.</param>
/// <param name="Priority">1-10, 10 first; 5 when left out.</param>
/// <param name="GateProfile">The quality gates to pass before a push; custom with <paramref name="Gates"/>.</param>
/// <param name="Gates">The gates of the custom profile.</param>
/// <param name="Context">Where and what to work on.</param>
public sealed record SpawnRequest(string TaskId, AgentType AgentType, int? Priority, GateProfile? GateProfile, IReadOnlyList<string>? Gates, SpawnRequestContext Context);

/// <param name="Repository">A git URL (https, ssh); a local path only with ALLOW_LOCAL_REPOSITORIES.</param>
/// <param name="Branch">The base branch.</param>
/// <param name="WorkItems">What to do, one item each (at most 100).</param>
/// <param name="Skills">Skills the prompt names (at most 100).</param>
public sealed record SpawnRequestContext(string Repository, string Branch, IReadOnlyList<string>? WorkItems, IReadOnlyList<string>? Skills);

/// <summary>The optional body of a kill or kill-all; the reason goes into the audit entry.</summary>
/// <param name="Reason">At most 500 characters, no control characters.</param>
public sealed record KillRequest(string? Reason);
