using System.Net;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;

namespace Mosaic.Orchestrator.Sandbox;

/// <summary>One run's way out of its container: a folder to mount (it holds the proxy's socket) and the environment that points at it.</summary>
public sealed class EgressWay(string folder, IReadOnlyDictionary<string, string> environment, Func<ValueTask> close) : IAsyncDisposable
{
    public string Folder { get; } = folder;

    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public ValueTask DisposeAsync() => close();
}

/// <summary>
/// Opens the egress proxy for one sandboxed run (SANDBOX_NETWORK=egress): a listener on a socket in a folder of the
/// run's own, the rules (the model API's host, SANDBOX_EGRESS_ALLOW), the model gateway under its alias, and every
/// refusal logged and counted on the agent's record. SANDBOX_NETWORK=none opens nothing: the container has no way out.
/// </summary>
public sealed partial class EgressGate(
    EgressProxy proxy,
    AgentTransitions transitions,
    GatewayAddress gateway,
    IOptions<SandboxOptions> options,
    IOptions<ClaudeCodeOptions> claude,
    ILogger<EgressGate> logger)
{
    /// <summary>The host name under which a sandboxed agent reaches the service's model gateway, through the proxy.</summary>
    public const string GatewayAlias = "mosaic-gateway";

    /// <summary>Where a sandboxed agent's model calls go when the gateway is on.</summary>
    public const string GatewayUrl = $"http://{GatewayAlias}";

    /// <summary>Inside the container, the entrypoint's bridge listens here and forwards to the socket.</summary>
    private const string BridgeUrl = "http://127.0.0.1:3128";

    /// <summary>Distinct hosts kept on the record; past this only the count grows.</summary>
    private const int MaxHostsOnRecord = 20;

    private readonly Lazy<EgressRules> _rules = new(() =>
        EgressRules.Parse(options.Value.EgressAllow, [EgressRules.ModelEndpoint(claude.Value.BaseUrl)]));

    public async Task<EgressWay?> OpenAsync(Guid agentId, CancellationToken cancellationToken)
    {
        if (!options.Value.EgressOn)
        {
            return null;
        }

        // A folder of this run's own, which only its container mounts. Not under DATA_DIR: a Unix socket's path may
        // hold at most 107 bytes, and the parent lists nothing to anyone but the service (0711).
        var parent = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mosaic-egress"));
        if (!OperatingSystem.IsWindows())
        {
            parent.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        }

        var directory = Directory.CreateDirectory(Path.Combine(parent.FullName, Guid.NewGuid().ToString("N"))).FullName;
        var socket = Path.Combine(directory, "proxy.sock");
        var refusals = new RefusalTally(agentId, transitions, logger);
        var listener = await proxy.StartAsync(socket, new EgressPolicy(_rules.Value, refusals.RecordAsync, new EgressGateway(GatewayAlias, GatewayEndpoint())), cancellationToken);
        var environment = new Dictionary<string, string>
        {
            ["MOSAIC_PROXY_SOCKET"] = socket,
            ["HTTPS_PROXY"] = BridgeUrl,
            ["HTTP_PROXY"] = BridgeUrl,
            ["https_proxy"] = BridgeUrl,
            ["http_proxy"] = BridgeUrl,
            ["ALL_PROXY"] = BridgeUrl,
        };
        return new EgressWay(directory, environment, async () =>
        {
            await listener.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            await refusals.FlushAsync();
        });
    }

    private IPEndPoint GatewayEndpoint()
    {
        var url = new Uri(gateway.Url);
        return new IPEndPoint(IPAddress.Parse(url.Host.Trim('[', ']')), url.Port);
    }

    /// <summary>
    /// One run's refusals: each logged; the record learns each new host at once (up to <see cref="MaxHostsOnRecord"/>)
    /// and the final count when the run ends, so an agent hammering a refused host cannot hammer the store too.
    /// </summary>
    private sealed class RefusalTally(Guid agentId, AgentTransitions transitions, ILogger logger)
    {
        private readonly Lock _gate = new();
        private readonly List<string> _hosts = [];
        private int _count;
        private int _recorded;

        public async ValueTask RecordAsync(EgressRefusal refusal, CancellationToken cancellationToken)
        {
            var host = $"{refusal.Host}:{refusal.Port}";
            LogRefused(logger, agentId, host, refusal.Reason);
            bool isNew;
            lock (_gate)
            {
                _count++;
                isNew = _hosts.Count < MaxHostsOnRecord && !_hosts.Contains(host, StringComparer.OrdinalIgnoreCase);
                if (isNew)
                {
                    _hosts.Add(host);
                }
            }

            if (isNew)
            {
                await WriteAsync(cancellationToken);
            }
        }

        public async ValueTask FlushAsync()
        {
            if (Volatile.Read(ref _count) != Volatile.Read(ref _recorded))
            {
                await WriteAsync(CancellationToken.None);
            }
        }

        private async Task WriteAsync(CancellationToken cancellationToken)
        {
            int count;
            string[] hosts;
            lock (_gate)
            {
                count = _count;
                hosts = [.. _hosts];
            }

            try
            {
                // Counts only grow: a slower write of an older tally never lowers what the record says.
                await transitions.ChangeAsync(agentId, a => a.EgressRefused is { } known && known.Count >= count
                    ? a
                    : a with { EgressRefused = new EgressRefusals(count, [.. (a.EgressRefused?.Hosts ?? []).Union(hosts, StringComparer.OrdinalIgnoreCase).Take(MaxHostsOnRecord)]) },
                    cancellationToken);
                Volatile.Write(ref _recorded, count);
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
                // The agent ended meanwhile (an ended record takes no changes): the log still has every refusal.
                LogNotRecorded(logger, agentId, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "sandbox of agent {AgentId}: egress to {Host} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, Guid agentId, string host, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox of agent {AgentId}: egress refusals not written to the record: {Reason}")]
    private static partial void LogNotRecorded(ILogger logger, Guid agentId, string reason);
}
