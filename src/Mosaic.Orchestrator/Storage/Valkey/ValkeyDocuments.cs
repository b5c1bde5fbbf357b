using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// How records and events are split for the scripts. A record's JSON is written as a body (every field the queue does
/// not own), a queue fragment (taskState, attempt, nextAttemptAt, lease) and sequence + version, which only scripts
/// assign; so the lease script can rewrite the queue part of a stored record without parsing JSON in Lua. An event
/// is written without its id, which the script appends from its counter. The stored result is the plain JSON of the
/// record or event (OrchestratorJson), readable by anyone.
/// </summary>
public static class ValkeyDocuments
{
    private static readonly string[] QueueOwned = ["taskState", "attempt", "nextAttemptAt", "lease", "sequence", "version"];

    private static readonly JsonSerializerOptions SplitOptions = CreateSplitOptions();

    /// <summary>The record's JSON without the queue-owned fields and without its closing brace.</summary>
    public static string Body(AgentRecord agent)
    {
        var json = JsonSerializer.Serialize(agent, SplitOptions);
        return json[..^1];
    }

    /// <summary>,"taskState":...,"attempt":...[,"nextAttemptAt":...][,"lease":{...}]</summary>
    public static string QueueFragment(AgentRecord agent)
    {
        var fragment = new StringBuilder(",\"taskState\":\"").Append(Name(agent.TaskState))
            .Append("\",\"attempt\":").Append(agent.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (agent.NextAttemptAt is { } next)
        {
            fragment.Append(",\"nextAttemptAt\":").Append(JsonSerializer.Serialize(next, OrchestratorJson.Options));
        }

        if (agent.Lease is { } lease)
        {
            fragment.Append(",\"lease\":").Append(LeaseJson(lease));
        }

        return fragment.ToString();
    }

    public static string LeaseJson(TaskLease lease) => JsonSerializer.Serialize(lease, OrchestratorJson.Options);

    /// <summary>The event's JSON without its id and closing brace: the script appends ,"id":N}.</summary>
    public static string EventBody(AgentEvent agentEvent)
    {
        var json = JsonSerializer.Serialize(agentEvent, SplitOptions);
        return json[..^1];
    }

    public static AgentRecord Record(string json) =>
        JsonSerializer.Deserialize<AgentRecord>(json, OrchestratorJson.Options) ?? throw new InvalidDataException("empty agent document");

    public static AgentEvent Event(string json) =>
        JsonSerializer.Deserialize<AgentEvent>(json, OrchestratorJson.Options) ?? throw new InvalidDataException("empty event document");

    public static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static JsonSerializerOptions CreateSplitOptions()
    {
        var options = new JsonSerializerOptions(OrchestratorJson.Options);
        options.TypeInfoResolver = OrchestratorJson.Options.TypeInfoResolver!.WithAddedModifier(info =>
        {
            var skipped = info.Type == typeof(AgentRecord) ? QueueOwned : info.Type == typeof(AgentEvent) ? ["id"] : [];
            foreach (var property in info.Properties.Where(p => skipped.Contains(p.Name)))
            {
                property.ShouldSerialize = static (_, _) => false;
            }
        });
        return options;
    }
}
