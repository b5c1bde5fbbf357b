using System.Globalization;
using Mosaic.Orchestrator.Configuration;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// The connection to Valkey (or Redis) and the names of this deployment's keys and channels. One multiplexer serves
/// commands and subscriptions; it reconnects by itself, and every command has a time limit, so nothing waits forever
/// on a connection that died. While disconnected, commands fail at once instead of queueing (the worker then simply
/// leases nothing, readiness says why, and everything resumes with the reconnect).
/// </summary>
public sealed class ValkeyConnection : IAsyncDisposable
{
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly bool _owned;
    private readonly int _database;
    private readonly RedisValue _prefixValue;
    private readonly RedisValue _eventsMax;

    public ValkeyConnection(IConnectionMultiplexer multiplexer, string prefix, long eventsMaxLength = 100_000, int database = 0, bool owned = false)
    {
        _multiplexer = multiplexer;
        _owned = owned;
        _database = database;
        Prefix = prefix;
        _prefixValue = prefix;
        _eventsMax = eventsMaxLength;
        EventsChannel = RedisChannel.Literal(prefix + ":events");
        CommandsChannel = RedisChannel.Literal(prefix + ":commands");
    }

    public string Prefix { get; }

    public IDatabase Database => _multiplexer.GetDatabase(_database);

    public ISubscriber Subscriber => _multiplexer.GetSubscriber();

    public bool IsConnected => _multiplexer.IsConnected;

    public string Endpoint => string.Join(",", _multiplexer.GetEndPoints().Select(e => e.ToString()));

    /// <summary>Lifecycle events of every instance (SPEC: orchestrator:events).</summary>
    public RedisChannel EventsChannel { get; }

    /// <summary>Commands between instances: stop requests of the kill relay and their answers.</summary>
    public RedisChannel CommandsChannel { get; }

    public RedisKey Key(string part) => Prefix + ":" + part;

    public RedisKey Key(string part, string id) => Prefix + ":" + part + ":" + id;

    public static ValkeyConnection Connect(OrchestratorOptions settings)
    {
        var configuration = new ConfigurationOptions
        {
            EndPoints = { { settings.ValkeyHost, settings.ValkeyPort } },
            User = string.IsNullOrEmpty(settings.ValkeyUsername) ? null : settings.ValkeyUsername,
            Password = string.IsNullOrEmpty(settings.ValkeyPassword) ? null : settings.ValkeyPassword,
            Ssl = settings.ValkeyTls,
            DefaultDatabase = settings.ValkeyDb,
            // Start without the server and connect when it comes: readiness reports it meanwhile.
            AbortOnConnectFail = false,
            ConnectTimeout = settings.ValkeyTimeoutMs,
            SyncTimeout = settings.ValkeyTimeoutMs,
            AsyncTimeout = settings.ValkeyTimeoutMs,
            ConnectRetry = 1,
            KeepAlive = 5,
            ReconnectRetryPolicy = new ExponentialRetry(250, 2000),
            BacklogPolicy = BacklogPolicy.FailFast,
            ClientName = "mosaic-orchestrator-" + settings.ResolvedNodeId.Replace(' ', '_'),
        };
        var multiplexer = ConnectionMultiplexer.Connect(configuration);
        return new ValkeyConnection(multiplexer, settings.ValkeyKeyPrefix, settings.ValkeyEventsMaxLength, settings.ValkeyDb, owned: true);
    }

    /// <summary>Script arguments: the prefix and the history length every script reads first, then the script's own.</summary>
    public RedisValue[] Args(params ReadOnlySpan<RedisValue> values)
    {
        var args = new RedisValue[values.Length + 2];
        args[0] = _prefixValue;
        args[1] = _eventsMax;
        values.CopyTo(args.AsSpan(2));
        return args;
    }

    public Task<RedisResult> RunAsync(ValkeyScript script, params ReadOnlySpan<RedisValue> values) => script.RunAsync(Database, Args(values));

    /// <summary>INFO server, memory and persistence, as field -> value.</summary>
    public async Task<Dictionary<string, string>> ServerInfoAsync()
    {
        var info = (string?)await RunAsync(ValkeyScripts.Info) ?? "";
        return info.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && line[0] != '#' && line.Contains(':', StringComparison.Ordinal))
            .Select(line => line.Split(':', 2))
            .GroupBy(pair => pair[0])
            .ToDictionary(g => g.Key, g => g.First()[1]);
    }

    public static RedisValue Millis(DateTimeOffset instant) => instant.ToUnixTimeMilliseconds();

    public static RedisValue Millis(DateTimeOffset? instant) => instant is { } value ? value.ToUnixTimeMilliseconds() : RedisValue.EmptyString;

    public static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        if (_owned)
        {
            await _multiplexer.CloseAsync();
            _multiplexer.Dispose();
        }
    }
}
