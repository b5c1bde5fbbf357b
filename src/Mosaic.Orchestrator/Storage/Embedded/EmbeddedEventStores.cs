using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Storage.Embedded;

/// <summary>The event history. Appended events are handed to the sink after their commit, in id order.</summary>
public sealed class EmbeddedEventHistory(SqliteDatabase database, IEventSink sink) : IEventHistory
{
    public Task<AgentEvent> AppendAsync(AgentEvent agentEvent, CancellationToken cancellationToken) =>
        database.RunAsync(c => Append(c, agentEvent, sink), cancellationToken);

    /// <summary>Appends inside the caller's operation, so an event can be stored atomically with a state change.</summary>
    internal static AgentEvent Append(SqliteSession session, AgentEvent agentEvent, IEventSink sink)
    {
        session.Execute("INSERT INTO events (doc) VALUES ($doc)", ("$doc", JsonSerializer.Serialize(agentEvent with { Id = 0 }, OrchestratorJson.Options)));
        var id = session.LastInsertRowId;
        var stored = agentEvent with { Id = id };
        session.AfterCommit(() => sink.Publish(stored));
        return stored;
    }

    /// <summary>
    /// <see cref="Append"/> for many events in one multi-row INSERT. Their ids are the statement's consecutive rowids,
    /// ending at the last one inserted: AUTOINCREMENT gives each row the table's largest id plus one, and nothing
    /// else writes between the rows of one statement.
    /// </summary>
    internal static IReadOnlyList<AgentEvent> AppendMany(SqliteSession session, IReadOnlyList<AgentEvent> events, IEventSink sink, Utf8JsonBuffer json)
    {
        if (events.Count == 0)
        {
            return [];
        }

        session.InsertRows("events", ["doc"], events.Count, (row, i) => row.SetUtf8(0, json.Write(events[i] with { Id = 0 }, EventJson)));
        var first = session.LastInsertRowId - events.Count + 1;
        var stored = new AgentEvent[events.Count];
        for (var i = 0; i < stored.Length; i++)
        {
            stored[i] = events[i] with { Id = first + i };
        }

        session.AfterCommit(() =>
        {
            foreach (var agentEvent in stored)
            {
                sink.Publish(agentEvent);
            }
        });
        return stored;
    }

    private static readonly JsonTypeInfo<AgentEvent> EventJson = (JsonTypeInfo<AgentEvent>)OrchestratorJson.Options.GetTypeInfo(typeof(AgentEvent));

    public Task<IReadOnlyList<AgentEvent>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken) =>
        database.RunAsync<IReadOnlyList<AgentEvent>>(c =>
        {
            var command = c.Command("SELECT id, doc FROM events WHERE id > $after ORDER BY id LIMIT $max", ("$after", afterId), ("$max", max));
            using var reader = command.ExecuteReader();
            var events = new List<AgentEvent>();
            while (reader.Read())
            {
                var stored = JsonSerializer.Deserialize<AgentEvent>(reader.GetString(1), OrchestratorJson.Options)!;
                events.Add(stored with { Id = reader.GetInt64(0) });
            }

            return events;
        }, cancellationToken);
}

public sealed class EmbeddedAuditStore(SqliteDatabase database) : IAuditStore
{
    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        database.RunAsync(c => c.Execute("INSERT INTO audit (doc) VALUES ($doc)",
            ("$doc", JsonSerializer.Serialize(entry, OrchestratorJson.Options))), cancellationToken);

    /// <summary>COUNT(*) walks the table; audit entries are few (kills, pauses, recoveries), so that stays cheap.</summary>
    public Task<AuditPage> ListAsync(int limit, int offset, CancellationToken cancellationToken) =>
        database.RunAsync(c => new AuditPage(
            [.. c.Strings("SELECT doc FROM audit ORDER BY id DESC LIMIT $limit OFFSET $offset", ("$limit", limit), ("$offset", offset))
                .Select(doc => JsonSerializer.Deserialize<AuditEntry>(doc, OrchestratorJson.Options)!)],
            c.Scalar("SELECT COUNT(*) FROM audit")), cancellationToken);
}

public sealed class EmbeddedStorageHealth(SqliteDatabase database) : IStorageHealth
{
    public string BackendName => "embedded";

    /// <summary>
    /// SQLite keeps writing to a file that was deleted under it (the open descriptor lives on), and the next start
    /// finds an empty store: a missing file must stop the service from taking work, not go unnoticed.
    /// </summary>
    public string? QuickCheck() => File.Exists(database.Path)
        ? null
        : $"the store file {database.Path} was removed while the service ran: what is written now is lost at the next start; stop the service and restore DATA_DIR";

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (QuickCheck() is { } gone)
        {
            return gone;
        }

        try
        {
            await database.RunAsync(c => c.Scalar("SELECT COUNT(*) FROM meta"), cancellationToken);
            return null;
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            return $"SQLite: {ex.Message}";
        }
    }
}
