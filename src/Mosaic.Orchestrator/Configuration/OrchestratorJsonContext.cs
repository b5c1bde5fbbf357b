using System.Text.Json;
using System.Text.Json.Serialization;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>Compile-time JSON metadata for the documents written on every request (records, events, audit entries, the batch answer).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentRecord))]
[JsonSerializable(typeof(AgentEvent))]
[JsonSerializable(typeof(AuditEntry))]
[JsonSerializable(typeof(SpawnedEventData))]
[JsonSerializable(typeof(Api.BatchSpawnResponse))]
internal sealed partial class OrchestratorJsonContext : JsonSerializerContext;
