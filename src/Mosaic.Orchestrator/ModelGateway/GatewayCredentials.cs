using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>
/// What a credential was issued for, what the model calls made with it used and cost so far, and what the gateway
/// decided on its behalf (a refusal for a budget, a park for a rate limit): the run's runtime reads these at its end.
/// </summary>
public sealed class GatewayGrant(Guid agentId, int attempt, string taskId = "", long agentSpentBefore = 0, long taskSpentBefore = 0)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, MeteredModel> _models = new(StringComparer.Ordinal);
    private long _input;
    private long _output;
    private long _cacheRead;
    private long _cacheCreation;
    private long _microUsd;
    private string? _refusal;
    private DateTimeOffset? _parkedUntil;

    public Guid AgentId { get; } = agentId;

    public int Attempt { get; } = attempt;

    public string TaskId { get; } = taskId;

    /// <summary>What the agent spent before this run (its earlier runs and attempts), in micro-dollars.</summary>
    public long AgentSpentBefore { get; } = agentSpentBefore;

    /// <summary>What the agents of the task spent before this run, this agent's earlier runs included.</summary>
    public long TaskSpentBefore { get; } = taskSpentBefore;

    /// <summary>Tokens metered from the responses' own usage figures, each message counted once.</summary>
    public TokenUsage Tokens => new(Interlocked.Read(ref _input), Interlocked.Read(ref _output), Interlocked.Read(ref _cacheRead), Interlocked.Read(ref _cacheCreation));

    /// <summary>What this run's calls cost, in micro-dollars, at the price table's prices.</summary>
    public long MicroUsd => Interlocked.Read(ref _microUsd);

    /// <summary>Why the gateway refused a call of this run for a budget (the first refusal), if it did.</summary>
    public string? Refusal => Volatile.Read(ref _refusal);

    /// <summary>Until when a rate limit this run met parked the account, if one did.</summary>
    public DateTimeOffset? ParkedUntil
    {
        get { lock (_lock) { return _parkedUntil; } }
    }

    /// <summary>Each model this run called, with the price entry used, its calls, tokens and cost.</summary>
    public IReadOnlyList<MeteredModel> Models
    {
        get { lock (_lock) { return [.. _models.Values]; } }
    }

    public void Add(TokenUsage usage) => Add(usage, null, null, 0);

    public void Add(TokenUsage usage, string? model, string? priceEntry, long microUsd)
    {
        Interlocked.Add(ref _input, usage.Input);
        Interlocked.Add(ref _output, usage.Output);
        Interlocked.Add(ref _cacheRead, usage.CacheRead);
        Interlocked.Add(ref _cacheCreation, usage.CacheCreation);
        Interlocked.Add(ref _microUsd, microUsd);
        if (priceEntry is null)
        {
            return;
        }

        var name = model ?? "(unnamed)";
        lock (_lock)
        {
            var before = _models.GetValueOrDefault(name) ?? new MeteredModel(name, priceEntry, 0, new TokenUsage(0, 0, 0, 0), 0);
            _models[name] = before with
            {
                PriceEntry = priceEntry,
                Calls = before.Calls + 1,
                Tokens = new TokenUsage(before.Tokens.Input + usage.Input, before.Tokens.Output + usage.Output,
                    before.Tokens.CacheRead + usage.CacheRead, before.Tokens.CacheCreation + usage.CacheCreation),
                CostUsd = ModelPrices.Usd((long)Math.Round(before.CostUsd * 1_000_000) + microUsd),
            };
        }
    }

    public void Refuse(string why) => Interlocked.CompareExchange(ref _refusal, why, null);

    public void Parked(DateTimeOffset until)
    {
        lock (_lock)
        {
            _parkedUntil = _parkedUntil is { } earlier && earlier > until ? earlier : until;
        }
    }
}

/// <summary>One model a run called through the gateway: the price entry that priced it, its calls, tokens and cost (USD).</summary>
public sealed record MeteredModel(string Model, string PriceEntry, long Calls, TokenUsage Tokens, double CostUsd);

/// <summary>
/// Per-run credentials for the model gateway: random, valid from the moment a run starts until it ends, and good for
/// nothing else. The agent holds only this; the gateway swaps in the real key. Kept as hashes, so a lookup's timing
/// says nothing about the credentials that exist.
/// </summary>
public sealed class GatewayCredentials
{
    public const string Prefix = "mosaic-gw-";
    private readonly ConcurrentDictionary<string, GatewayGrant> _grants = new(StringComparer.Ordinal);

    /// <summary>A new credential for one run of <paramref name="agentId"/>'s runtime.</summary>
    public (string Credential, GatewayGrant Grant) Issue(Guid agentId, int attempt) => Issue(new GatewayGrant(agentId, attempt));

    /// <summary>A new credential for <paramref name="grant"/>.</summary>
    public (string Credential, GatewayGrant Grant) Issue(GatewayGrant grant)
    {
        var credential = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        _grants[Key(credential)] = grant;
        return (credential, grant);
    }

    /// <summary>The credential is refused from now on; returns what it metered.</summary>
    public GatewayGrant? Revoke(string credential) => _grants.TryRemove(Key(credential), out var grant) ? grant : null;

    public GatewayGrant? Find(string? credential) =>
        string.IsNullOrEmpty(credential) || !credential.StartsWith(Prefix, StringComparison.Ordinal) ? null
        : _grants.TryGetValue(Key(credential), out var grant) ? grant : null;

    private static string Key(string credential) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credential)));
}
