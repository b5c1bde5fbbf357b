using System.Text.Json;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// The event history: a stream {prefix}:events:log whose entry ids are the event ids ("N-0"), trimmed to about
/// VALKEY_EVENTS_MAX_LENGTH entries. Appending also publishes on {prefix}:events, inside the same script, so every
/// instance hears events in id order; <see cref="ValkeyEventRelay"/> hands them to this instance's subscribers.
/// </summary>
public sealed class ValkeyEventHistory(ValkeyConnection valkey) : IEventHistory
{
    public async Task<AgentEvent> AppendAsync(AgentEvent agentEvent, CancellationToken cancellationToken)
    {
        var id = (long)await valkey.RunAsync(ValkeyScripts.Append, ValkeyDocuments.EventBody(agentEvent));
        return agentEvent with { Id = id };
    }

    public async Task<IReadOnlyList<AgentEvent>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken)
    {
        var entries = await valkey.Database.StreamRangeAsync(valkey.Key("events:log"), $"{afterId + 1}-0", "+", max);
        return [.. entries.Select(e => ValkeyDocuments.Event(e["e"].ToString()))];
    }
}

/// <summary>Audit entries in a list, newest at the head.</summary>
public sealed class ValkeyAuditStore(ValkeyConnection valkey) : IAuditStore
{
    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        valkey.Database.ListLeftPushAsync(valkey.Key("audit"), JsonSerializer.Serialize(entry, OrchestratorJson.Options));

    public async Task<AuditPage> ListAsync(int limit, int offset, CancellationToken cancellationToken)
    {
        var read = valkey.Database.CreateTransaction();
        var total = read.ListLengthAsync(valkey.Key("audit"));
        var docs = read.ListRangeAsync(valkey.Key("audit"), offset, offset + (long)limit - 1);
        await read.ExecuteAsync();
        return new AuditPage([.. (await docs).Select(d => JsonSerializer.Deserialize<AuditEntry>(d.ToString(), OrchestratorJson.Options)!)], await total);
    }
}

/// <summary>Ready when connected and a PING answers in time.</summary>
public sealed class ValkeyStorageHealth(ValkeyConnection valkey) : IStorageHealth
{
    public string BackendName => "valkey";

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (!valkey.IsConnected)
        {
            return $"not connected to {valkey.Endpoint}";
        }

        try
        {
            await valkey.Database.PingAsync();
            return null;
        }
        catch (RedisException ex)
        {
            return $"{valkey.Endpoint}: {ex.Message}";
        }
    }
}
