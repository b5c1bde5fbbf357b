using Mosaic.Orchestrator.Agents;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// This instance's presence in the cluster. At start it checks the server's settings (eviction, persistence) and
/// claims its NODE_ID: a second live instance with the same NODE_ID would take the first one's leases for a dead
/// predecessor's and end its agents, so it is refused, as the embedded store refuses a second instance on a DATA_DIR.
/// The claim ({prefix}:node:{NODE_ID} = node/instance, expiring after <see cref="ClaimTimeToLive"/>) is renewed every
/// <see cref="HeartbeatInterval"/>; the kill relay reads it to tell a live instance from a dead one.
/// </summary>
public sealed partial class ValkeyInstance(ValkeyConnection valkey, NodeIdentity node, NodeClaim claim, ILogger<ValkeyInstance> logger) : BackgroundService
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ClaimTimeToLive = TimeSpan.FromSeconds(5);

    private bool _warnedTaken;

    /// <summary>True when the instance named <paramref name="owner"/> (a lease owner) still holds its node's claim.</summary>
    public async Task<bool> IsAliveAsync(string owner) =>
        await valkey.Database.StringGetAsync(valkey.Key("node", NodeIdentity.NodeOf(owner))) == owner;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await CheckServerAsync();
            // A predecessor that died without stopping keeps the name until its claim expires: wait that long for it.
            var deadline = DateTimeOffset.UtcNow + ClaimTimeToLive + HeartbeatInterval;
            string holder;
            while ((holder = await ClaimAsync()) != node.Instance)
            {
                if (DateTimeOffset.UtcNow > deadline)
                {
                    throw new NodeIdInUseException($"NODE_ID {node.Node} is in use by the live instance {holder} on this Valkey: " +
                        "give every instance its own NODE_ID (stable across restarts of that instance).");
                }

                await Task.Delay(HeartbeatInterval / 4, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Start anyway: readiness reports the store, the workers lease nothing until it answers, and the
            // heartbeat below claims the name once it can.
            LogUnreachableAtStart(logger, valkey.Endpoint, ex.Message);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var holder = await ClaimAsync();
                    if (holder != node.Instance && !_warnedTaken)
                    {
                        _warnedTaken = true;
                        LogNameTaken(logger, node.Node, holder);
                    }
                    else if (holder == node.Instance)
                    {
                        _warnedTaken = false;
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    // Disconnected: the claim may expire; it is taken again after the reconnect.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await valkey.RunAsync(ValkeyScripts.ReleaseNode, node.Node, node.Instance);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The claim expires by itself.
        }
    }

    /// <summary>Claims or keeps the name; the worker leases and recovers only while this instance holds it.</summary>
    private async Task<string> ClaimAsync()
    {
        var holder = (string)(await valkey.RunAsync(ValkeyScripts.ClaimNode, node.Node, node.Instance, (long)ClaimTimeToLive.TotalMilliseconds))!;
        claim.Set(holder == node.Instance);
        return holder;
    }

    /// <summary>
    /// Like BullMQ: a server that may evict keys loses tasks, so say so; and without AOF a server restart loses
    /// what was written since the last snapshot.
    /// </summary>
    private async Task CheckServerAsync()
    {
        var fields = await valkey.ServerInfoAsync();
        var policy = fields.GetValueOrDefault("maxmemory_policy", "unknown");
        if (policy != "noeviction")
        {
            LogEvictionPolicy(logger, policy);
        }

        if (fields.GetValueOrDefault("aof_enabled") != "1")
        {
            LogNoAppendOnly(logger);
        }

        var version = fields.GetValueOrDefault("valkey_version") ?? fields.GetValueOrDefault("redis_version") ?? "unknown";
        if (Version.TryParse(fields.GetValueOrDefault("redis_version"), out var redis) && redis.Major < 7)
        {
            throw new Configuration.StartupRefusedException($"Valkey/Redis {version} at {valkey.Endpoint} is too old: the store's scripts need Redis 7.0 or Valkey 7.2 or newer.");
        }

        LogConnected(logger, valkey.Endpoint, version, policy);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Valkey store at {Endpoint}: server {Version}, maxmemory-policy {Policy}")]
    private static partial void LogConnected(ILogger logger, string endpoint, string version, string policy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Valkey maxmemory-policy is {Policy}, not noeviction: under memory pressure the server may evict queue keys and lose tasks. Set maxmemory-policy noeviction.")]
    private static partial void LogEvictionPolicy(ILogger logger, string policy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Valkey persistence: appendonly is off, so a server restart loses what was written since its last snapshot. Set appendonly yes.")]
    private static partial void LogNoAppendOnly(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Valkey at {Endpoint} is unreachable at start ({Message}); serving anyway, not ready until it answers")]
    private static partial void LogUnreachableAtStart(ILogger logger, string endpoint, string message);

    [LoggerMessage(Level = LogLevel.Critical, Message = "NODE_ID {Node} is now held by another instance ({Holder}): two live instances share a NODE_ID; this one leases nothing until it holds the name again")]
    private static partial void LogNameTaken(ILogger logger, string node, string holder);
}

/// <summary>Another live instance holds this NODE_ID.</summary>
public sealed class NodeIdInUseException(string message) : Configuration.StartupRefusedException(message);
