using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>What a credential was issued for, and what the model calls made with it used so far.</summary>
public sealed class GatewayGrant(Guid agentId, int attempt)
{
    private long _input;
    private long _output;
    private long _cacheRead;
    private long _cacheCreation;

    public Guid AgentId { get; } = agentId;

    public int Attempt { get; } = attempt;

    /// <summary>Tokens metered from the responses' own usage figures, each message counted once.</summary>
    public TokenUsage Tokens => new(Interlocked.Read(ref _input), Interlocked.Read(ref _output), Interlocked.Read(ref _cacheRead), Interlocked.Read(ref _cacheCreation));

    public void Add(TokenUsage usage)
    {
        Interlocked.Add(ref _input, usage.Input);
        Interlocked.Add(ref _output, usage.Output);
        Interlocked.Add(ref _cacheRead, usage.CacheRead);
        Interlocked.Add(ref _cacheCreation, usage.CacheCreation);
    }
}

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
    public (string Credential, GatewayGrant Grant) Issue(Guid agentId, int attempt)
    {
        var credential = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var grant = new GatewayGrant(agentId, attempt);
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
