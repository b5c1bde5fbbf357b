using Microsoft.Data.Sqlite;

namespace Mosaic.Orchestrator.Storage.Embedded;

/// <summary>
/// The embedded store's one connection to a SQLite file in WAL mode. Every operation runs under one async
/// lock inside one transaction, so each is atomic and operations never interleave; SQLite serialises writers
/// anyway, and one connection avoids busy retries. synchronous=NORMAL in WAL survives a process crash with
/// nothing lost (only a power cut can drop the last commits).
/// </summary>
public sealed class SqliteDatabase : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;

    public SqliteDatabase(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;");
        Execute(Schema);
    }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS agents (
            agent_id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL,
            status TEXT NOT NULL,
            task_state TEXT NOT NULL,
            priority INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            due_at INTEGER NOT NULL,
            lease_token TEXT,
            lease_owner TEXT,
            lease_expires_at INTEGER,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS agents_live_task ON agents(task_id) WHERE status IN ('spawning', 'running');
        CREATE INDEX IF NOT EXISTS agents_ready ON agents(priority DESC, seq) WHERE task_state = 'pending';
        CREATE INDEX IF NOT EXISTS agents_by_seq ON agents(seq);
        CREATE INDEX IF NOT EXISTS agents_by_status ON agents(status, seq);
        CREATE INDEX IF NOT EXISTS agents_by_task ON agents(task_id, seq);
        CREATE INDEX IF NOT EXISTS agents_leased ON agents(lease_expires_at) WHERE lease_token IS NOT NULL;
        CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """;

    /// <summary>Runs <paramref name="work"/> alone, in one transaction committed when it returns.</summary>
    public async Task<T> RunAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var transaction = _connection.BeginTransaction();
            var result = work(_connection, transaction);
            transaction.Commit();
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await _connection.DisposeAsync();
        }
        finally
        {
            _gate.Release();
            _gate.Dispose();
        }
    }
}

internal static class SqliteCommandExtensions
{
    public static SqliteCommand Command(this SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public static long Scalar(this SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(transaction, sql, parameters);
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }

    public static int Execute(this SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(transaction, sql, parameters);
        return command.ExecuteNonQuery();
    }

    public static List<string> Strings(this SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(transaction, sql, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<string>();
        while (reader.Read())
        {
            list.Add(reader.GetString(0));
        }

        return list;
    }
}
