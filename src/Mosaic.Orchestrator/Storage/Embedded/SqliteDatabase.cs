using System.Globalization;
using System.Numerics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Mosaic.Orchestrator.Storage.Embedded;

/// <summary>
/// The embedded store's one connection to a SQLite file in WAL mode, with group commit: when the connection is idle
/// an operation runs at once on its caller's thread (no thread hop); when it is busy, operations queue up and one
/// writer loop runs every waiting operation inside one transaction (each in its own savepoint, so one failing
/// operation rolls back alone), commits once, and only then answers their callers. Under load a commit carries many
/// operations, which is what makes SQLite fast here.
/// synchronous=NORMAL in WAL survives a process crash with nothing lost (only a power cut can drop the last
/// commits). One connection also means operations never interleave, so each is atomic by construction.
/// </summary>
public sealed class SqliteDatabase : IAsyncDisposable
{
    public const int MaxBatch = 256;
    private readonly Channel<IOperation> _operations = Channel.CreateUnbounded<IOperation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteConnection _connection;
    private readonly SqliteSession _session;
    private readonly Task _writer;
    private readonly SemaphoreSlim _connectionGate = new(1, 1);
    private readonly List<IOperation> _single = new(1);
    private readonly FileStream _instanceLock;
    private readonly Func<bool>? _releaseReserve;
    private int _queued;

    /// <summary>The database file this store opened.</summary>
    public string Path { get; }

    /// <param name="path">The database file.</param>
    /// <param name="releaseReserve">
    /// Gives up the disk reserve (<see cref="StoreReserve"/>); a batch that failed for space runs once more when it freed
    /// something, so an agent's end or a kill can still be written on a disk that just filled.
    /// </param>
    public SqliteDatabase(string path, Func<bool>? releaseReserve = null)
    {
        _releaseReserve = releaseReserve;
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        // One instance per store: a second one would take the first one's leases for a dead instance's and end its
        // agents. The lock is an flock on Linux, released by the kernel when the process dies however it dies.
        try
        {
            _instanceLock = new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new DataDirInUseException($"{path} is in use by another orchestrator instance (lock {path}.lock is held): {ex.Message}");
        }

        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            Open(exclusive: false);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteFull or SqliteIoError)
        {
            // A start on a full disk: SQLite could not create its shared-memory index (-shm). With EXCLUSIVE locking
            // the WAL index lives in this process's memory instead, which is safe here (the instance lock already
            // keeps every other instance out); writes then fail with "full" (507) until there is room, reads work.
            _connection.Close();
            try
            {
                Open(exclusive: true);
            }
            catch (SqliteException again) when (again.SqliteErrorCode is SqliteFull or SqliteIoError)
            {
                _connection.Dispose();
                _instanceLock.Dispose();
                throw new Configuration.StartupRefusedException(
                    $"{path}: the disk is full and the store cannot open ({again.Message}): free space in DATA_DIR");
            }
        }

        _session = new SqliteSession(_connection);
        _writer = Task.Run(WriteLoopAsync);
    }

    private const int SqliteFull = 13;
    private const int SqliteIoError = 10;

    private void Open(bool exclusive)
    {
        _connection.Open();
        if (exclusive)
        {
            using var locking = _connection.CreateCommand();
            locking.CommandText = "PRAGMA locking_mode=EXCLUSIVE;";
            locking.ExecuteNonQuery();
        }

        // cache_size: SQLite trims its page cache at the end of every transaction with a walk of the cache's hash table,
        // so a large cache costs on every commit (at 64 MiB, pcache1TruncateUnsafe was SQLite's top function in a perf
        // profile of spawns and spawns ran ~10% slower). 8 MiB holds the hot pages (the indexes' right edges, the
        // counts); reads of the rest come through mmap.
        // temp_store: the savepoint of each operation in a group commit keeps the first image of every page the
        // operation changes in a sub-journal, which SQLite spills to a temp file under /var/tmp past 64 KiB; a batch
        // spawn of 100 changes more than that, and in a perf profile of batch spawns half the service's CPU was the
        // kernel writing that file. In memory, the sub-journal is a few MiB at most and dropped at each RELEASE.
        foreach (var setup in new[] { "PRAGMA page_size=2048; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA cache_size=-8192; PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;", Schema })
        {
            using var command = _connection.CreateCommand();
            command.CommandText = setup;
            command.ExecuteNonQuery();
        }

        try
        {
            using var recount = _connection.CreateCommand();
            recount.CommandText = Recount;
            recount.ExecuteNonQuery();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteFull)
        {
            // A start on a full disk: the counts the triggers kept stay as they are (they are right for any file those
            // triggers wrote); refusing to start here is what left a service down until someone deleted files by hand.
        }
    }

    private const string Schema = """
        -- seq (arrival order) is the rowid: inserts append at the right edge of the table's B-tree.
        CREATE TABLE IF NOT EXISTS agents (
            seq INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL UNIQUE,
            task_id TEXT NOT NULL,
            status TEXT NOT NULL,
            task_state TEXT NOT NULL,
            priority INTEGER NOT NULL,
            due_at INTEGER NOT NULL,
            lease_token TEXT,
            lease_owner TEXT,
            lease_expires_at INTEGER,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS agents_live_task ON agents(task_id) WHERE status IN ('spawning', 'running');
        CREATE INDEX IF NOT EXISTS agents_ready ON agents(priority DESC, seq) WHERE task_state = 'pending';
        CREATE INDEX IF NOT EXISTS agents_by_status ON agents(status, seq);
        CREATE INDEX IF NOT EXISTS agents_by_task ON agents(task_id, seq);
        CREATE INDEX IF NOT EXISTS agents_leased ON agents(lease_expires_at) WHERE lease_token IS NOT NULL;
        CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        -- The model gateway's spend per UTC day, in micro-dollars (DAILY_MAX_COST_USD).
        CREATE TABLE IF NOT EXISTS model_spend (day TEXT PRIMARY KEY, micro_usd INTEGER NOT NULL) WITHOUT ROWID;
        -- Tasks per state, kept by triggers in the same transaction as the row: the queue-full check on every
        -- spawn reads one row instead of counting a queue that may hold thousands of tasks.
        CREATE TABLE IF NOT EXISTS task_counts (task_state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TRIGGER IF NOT EXISTS count_insert AFTER INSERT ON agents BEGIN
            UPDATE task_counts SET n = n + 1 WHERE task_state = NEW.task_state;
        END;
        CREATE TRIGGER IF NOT EXISTS count_update AFTER UPDATE OF task_state ON agents WHEN OLD.task_state <> NEW.task_state BEGIN
            UPDATE task_counts SET n = n - 1 WHERE task_state = OLD.task_state;
            UPDATE task_counts SET n = n + 1 WHERE task_state = NEW.task_state;
        END;
        CREATE TRIGGER IF NOT EXISTS count_delete AFTER DELETE ON agents BEGIN
            UPDATE task_counts SET n = n - 1 WHERE task_state = OLD.task_state;
        END;
        """;

    // Recounted at every open, so the counts are right even for a file written before the triggers existed.
    private const string Recount = """
        DELETE FROM task_counts;
        INSERT INTO task_counts (task_state, n)
            SELECT s.task_state, (SELECT COUNT(*) FROM agents a WHERE a.task_state = s.task_state)
            FROM (SELECT 'pending' AS task_state UNION ALL SELECT 'assigned' UNION ALL SELECT 'executing'
                  UNION ALL SELECT 'completed' UNION ALL SELECT 'failed') s;
        """;

    /// <summary>Runs <paramref name="work"/> atomically; the returned task completes once its transaction is committed.</summary>
    public Task<T> RunAsync<T>(Func<SqliteSession, T> work, CancellationToken cancellationToken)
    {
        var operation = new Operation<T>(work, cancellationToken);
        if (Volatile.Read(ref _queued) == 0 && _connectionGate.Wait(0, CancellationToken.None))
        {
            try
            {
                _single.Add(operation);
                RunBatch(_single);
            }
            finally
            {
                _single.Clear();
                _connectionGate.Release();
            }

            return operation.Task; // completed: awaiting it continues on this thread
        }

        Interlocked.Increment(ref _queued);
        ObjectDisposedException.ThrowIf(!_operations.Writer.TryWrite(operation), this);
        return operation.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<IOperation>(MaxBatch);
        while (await _operations.Reader.WaitToReadAsync())
        {
            await _connectionGate.WaitAsync();
            try
            {
                while (batch.Count < MaxBatch && _operations.Reader.TryRead(out var next))
                {
                    Interlocked.Decrement(ref _queued);
                    batch.Add(next);
                }

                if (batch.Count > 0)
                {
                    RunBatch(batch);
                }
            }
            finally
            {
                batch.Clear();
                _connectionGate.Release();
            }
        }
    }

    private void RunBatch(List<IOperation> batch, bool retried = false)
    {
        try
        {
            _session.BeginBatch();
            if (batch.Count == 1)
            {
                // Alone in its transaction, an operation needs no savepoint: a failure rolls the transaction back.
                if (batch[0].TryRun(_session))
                {
                    _session.CommitBatch();
                }
                else
                {
                    ThrowIfFull(batch[0]);
                    _session.AbortBatch();
                }
            }
            else
            {
                foreach (var operation in batch)
                {
                    _session.Run("SAVEPOINT op");
                    var actions = _session.PendingActions;
                    if (operation.TryRun(_session))
                    {
                        _session.Run("RELEASE op");
                    }
                    else
                    {
                        ThrowIfFull(operation); // the disk, not the operation: the whole batch fails (or runs again) together
                        _session.DropActionsFrom(actions);
                        _session.Run("ROLLBACK TO op; RELEASE op");
                    }
                }

                _session.CommitBatch();
            }

            // Committed: now, in commit order, what the operations asked to happen after it (publishing events).
            _session.RunCommittedActions();
        }
        catch (SqliteException ex)
        {
            _session.AbortBatch();
            if (ex.SqliteErrorCode == SqliteFull && !retried && _releaseReserve?.Invoke() == true)
            {
                RunBatch(batch, retried: true); // the reserve is free space now: the same batch once more
                return;
            }

            foreach (var operation in batch)
            {
                operation.Fail(ex); // the commit itself failed (disk full, I/O error): nothing of the batch was stored
            }

            return;
        }

        foreach (var operation in batch)
        {
            operation.Publish();
        }
    }

    private static void ThrowIfFull(IOperation operation)
    {
        if (operation.Error is SqliteException { SqliteErrorCode: SqliteFull } full)
        {
            throw full;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _operations.Writer.TryComplete();
        await _writer;
        await _connectionGate.WaitAsync();
        _session.Dispose();
        await _connection.DisposeAsync();
        await _instanceLock.DisposeAsync();
    }

    private interface IOperation
    {
        bool TryRun(SqliteSession session);

        void Fail(Exception error);

        void Publish();

        Exception? Error { get; }
    }

    private sealed class Operation<T>(Func<SqliteSession, T> work, CancellationToken cancellationToken) : IOperation
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;
        private bool _cancelled;

        public Task<T> Task => _completion.Task;

        public Exception? Error => _error;

        public bool TryRun(SqliteSession session)
        {
            _error = null; // a batch may run twice (after the disk reserve was freed)
            if (cancellationToken.IsCancellationRequested)
            {
                _cancelled = true;
                return false;
            }

            try
            {
                _result = work(session);
                return true;
            }
            catch (Exception ex) when (ex is SqliteException or InvalidOperationException or FormatException or System.Text.Json.JsonException or InvalidDataException)
            {
                _error = ex;
                return false;
            }
        }

        public void Fail(Exception error) => _completion.TrySetException(error);

        public void Publish()
        {
            if (_cancelled)
            {
                _completion.TrySetCanceled(cancellationToken);
            }
            else if (_error is not null)
            {
                _completion.TrySetException(_error);
            }
            else
            {
                _completion.TrySetResult(_result!);
            }
        }
    }
}

/// <summary>The connection as operations see it: prepared statements cached by their text, bound to the open batch.</summary>
public sealed class SqliteSession(SqliteConnection connection) : IDisposable
{
    /// <summary>The most rows one INSERT of <see cref="InsertRows"/> carries.</summary>
    public const int MaxRowsPerInsert = 64;

    private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);
    private readonly Dictionary<string, sqlite3_stmt> _inserts = new(StringComparer.Ordinal);
    private readonly List<Action> _afterCommit = [];
    private SqliteTransaction? _transaction;

    /// <summary>Runs <paramref name="action"/> once the batch holding the current operation has committed (in order), never if it rolls back.</summary>
    public void AfterCommit(Action action) => _afterCommit.Add(action);

    internal int PendingActions => _afterCommit.Count;

    internal void DropActionsFrom(int count) => _afterCommit.RemoveRange(count, _afterCommit.Count - count);

    internal void RunCommittedActions()
    {
        foreach (var action in _afterCommit)
        {
            action();
        }

        _afterCommit.Clear();
    }

    internal void BeginBatch() => _transaction = connection.BeginTransaction();

    internal void CommitBatch()
    {
        _transaction!.Commit();
        _transaction.Dispose();
        _transaction = null;
    }

    internal void AbortBatch()
    {
        _afterCommit.Clear();
        try
        {
            _transaction?.Rollback();
        }
        catch (SqliteException)
        {
            // the transaction may already be gone with the failed commit
        }

        _transaction?.Dispose();
        _transaction = null;
    }

    public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (!_prepared.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            _prepared[sql] = command;
        }

        command.Transaction = _transaction;
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    /// <summary>The rowid of the last row inserted on this connection (cheaper than RETURNING through a reader).</summary>
    public long LastInsertRowId => SQLitePCL.raw.sqlite3_last_insert_rowid(connection.Handle);

    public long Scalar(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters) =>
        Convert.ToInt64(Command(sql, parameters).ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);

    public int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters) =>
        Command(sql, parameters).ExecuteNonQuery();

    public List<string> Strings(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var reader = Command(sql, parameters).ExecuteReader();
        var list = new List<string>();
        while (reader.Read())
        {
            list.Add(reader.GetString(0));
        }

        return list;
    }

    internal void Run(string sql) => Command(sql).ExecuteNonQuery();

    /// <summary>
    /// Inserts <paramref name="rows"/> rows into <paramref name="table"/> in order, <see cref="MaxRowsPerInsert"/> rows
    /// to a statement, in the open batch; <paramref name="bind"/> sets the values of row i. For the many rows of one
    /// operation (a batch spawn): one multi-row INSERT runs SQLite's statement machinery once for many rows, and its
    /// values are bound by position through SQLite's own API, where <see cref="Command"/> looks every named
    /// parameter up by name and goes through a data reader per statement. Statements are prepared once per size
    /// (powers of two, so a batch of any length needs at most seven) and kept for the connection's life.
    /// A failing row fails its whole statement, which SQLite undoes: callers check constraints before.
    /// </summary>
    public void InsertRows(string table, IReadOnlyList<string> columns, int rows, Action<SqliteRow, int> bind)
    {
        for (var done = 0; done < rows;)
        {
            var size = 1 << BitOperations.Log2((uint)Math.Min(rows - done, MaxRowsPerInsert)); // the largest power of two that fits
            var statement = Insert(table, columns, size);
            try
            {
                for (var row = 0; row < size; row++)
                {
                    bind(new SqliteRow(statement, connection.Handle!, row * columns.Count), done + row);
                }

                var result = raw.sqlite3_step(statement);
                if (result != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(result, connection.Handle);
                }
            }
            finally
            {
                raw.sqlite3_reset(statement);
            }

            done += size;
        }
    }

    private sqlite3_stmt Insert(string table, IReadOnlyList<string> columns, int rows)
    {
        var values = "(" + string.Join(", ", Enumerable.Repeat("?", columns.Count)) + ")";
        var sql = $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES {string.Join(", ", Enumerable.Repeat(values, rows))}";
        if (!_inserts.TryGetValue(sql, out var statement))
        {
            SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v3(connection.Handle, sql, raw.SQLITE_PREPARE_PERSISTENT, out statement), connection.Handle);
            _inserts[sql] = statement;
        }

        return statement;
    }

    public void Dispose()
    {
        foreach (var command in _prepared.Values)
        {
            command.Dispose();
        }

        foreach (var statement in _inserts.Values)
        {
            statement.Dispose();
        }
    }
}

/// <summary>One row of a multi-row INSERT (<see cref="SqliteSession.InsertRows"/>): its values by column position.</summary>
public readonly struct SqliteRow
{
    private readonly sqlite3_stmt _statement;
    private readonly sqlite3 _database;
    private readonly int _first;

    internal SqliteRow(sqlite3_stmt statement, sqlite3 database, int first)
    {
        _statement = statement;
        _database = database;
        _first = first;
    }

    public void Set(int column, long value) => Check(raw.sqlite3_bind_int64(_statement, _first + column + 1, value));

    public void Set(int column, string value) => Check(raw.sqlite3_bind_text(_statement, _first + column + 1, value));

    /// <summary>Text already encoded as UTF-8 (SQLite copies it: the buffer may be reused at once).</summary>
    public void SetUtf8(int column, ReadOnlySpan<byte> value) => Check(raw.sqlite3_bind_text(_statement, _first + column + 1, value));

    private void Check(int result) => SqliteException.ThrowExceptionForRC(result, _database);
}

/// <summary>Another live instance holds this store.</summary>
public sealed class DataDirInUseException(string message) : Configuration.StartupRefusedException(message);
