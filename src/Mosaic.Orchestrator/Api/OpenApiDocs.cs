using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
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

    /// <summary>
    /// Describes a JSON request body without declaring it to routing: <c>Accepts&lt;T&gt;</c> would make routing answer 415
    /// to any other Content-Type, and a kill body is read as JSON whatever its Content-Type (curl -d sends form encoding),
    /// while a spawn's 415 comes with a problem detail from the handler.
    /// </summary>
    public static TBuilder DocumentJsonBody<TBuilder, TBody>(this TBuilder endpoint, bool required, string description)
        where TBuilder : IEndpointConventionBuilder =>
        endpoint.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(TBody), null, cancellationToken);
            IOpenApiSchema body = schema;
            if (context.Document is { } document)
            {
                document.AddComponent(typeof(TBody).Name, schema);
                body = new OpenApiSchemaReference(typeof(TBody).Name, document);
            }

            operation.RequestBody = new OpenApiRequestBody
            {
                Required = required,
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = body } },
            };
        });

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
public sealed record SpawnRequest
{
    [Description("1-128 characters of A-Z a-z 0-9 . _ -; a task has at most one live agent.")]
    [RegularExpression("^[A-Za-z0-9._-]{1,128}$")]
    public required string TaskId { get; init; }

    [Description("worker, reviewer or tester.")]
    public required AgentType AgentType { get; init; }

    [Description("1-10, 10 runs first; 5 when left out.")]
    [Range(1, 10)]
    [JsonNumberHandling(JsonNumberHandling.Strict)]
    public int? Priority { get; init; }

    [Description("The quality gates to pass before the push; left out, the agent type's default. custom goes with gates.")]
    public GateProfile? GateProfile { get; init; }

    [Description("The gates of the custom profile, e.g. [\"tests\", \"coverage\"].")]
    public IReadOnlyList<string>? Gates { get; init; }

    [Description("Where and what to work on.")]
    public required SpawnRequestContext Context { get; init; }
}

public sealed record SpawnRequestContext
{
    [Description("A git URL (https, ssh); a local path or file:// only with ALLOW_LOCAL_REPOSITORIES.")]
    public required string Repository { get; init; }

    [Description("The base branch.")]
    public required string Branch { get; init; }

    [Description("What to do, one item each (at most 100 of at most 200 characters).")]
    public IReadOnlyList<string>? WorkItems { get; init; }

    [Description("Skills the prompt names (at most 100 of at most 200 characters).")]
    public IReadOnlyList<string>? Skills { get; init; }
}

/// <summary>The optional body of a kill, kill-all or emergency stop; the reason goes into the audit entry.</summary>
public sealed record KillRequest
{
    [Description("At most 500 characters, no control characters.")]
    [MaxLength(500)]
    public string? Reason { get; init; }
}

/// <summary>The optional body of a resume; the instructions are added to the new agent's prompt.</summary>
public sealed record ResumeRequest
{
    [Description("At most 4000 characters; newlines and tabs allowed, no other control characters.")]
    [MaxLength(4000)]
    public string? Instructions { get; init; }
}
