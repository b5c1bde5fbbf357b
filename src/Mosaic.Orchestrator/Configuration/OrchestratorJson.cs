using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>One JSON shape for the API, the stores and the audit file: camelCase names, lower-case enum values.</summary>
public static class OrchestratorJson
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        // Source-generated metadata first (no reflection on the hot path), reflection for everything else.
        options.TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine(
            OrchestratorJsonContext.Default, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver());
        return options;
    }
}
