using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>One Lua script of Scripts/, with the shared functions of common.lua in front of it.</summary>
public sealed class ValkeyScript
{
    private ValkeyScript(string name, string text)
    {
        Name = name;
        Text = text;
#pragma warning disable CA5350 // Redis names scripts by their SHA-1 (EVALSHA); this is not a security use.
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    public string Name { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    public static ValkeyScript Load(string name, bool readOnly = false)
    {
        // "#!lua" declares the script's flags (Redis 7+): a writing script is refused whole, before it starts, when
        // the server is out of memory, instead of failing halfway through its writes.
        var shebang = readOnly ? "#!lua flags=no-writes\n" : "#!lua\n";
        return new ValkeyScript(name, shebang + Resource("common") + "\n" + Resource(name));
    }

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Mosaic.Orchestrator.Storage.Valkey.Scripts.{name}.lua")
            ?? throw new InvalidOperationException($"Lua script {name}.lua is not embedded");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>EVALSHA, falling back to EVAL (which loads the script) when the server does not know it yet.</summary>
    public async Task<RedisResult> RunAsync(IDatabaseAsync database, RedisValue[] args)
    {
        try
        {
            return await database.ScriptEvaluateAsync(Hash, null, args);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await database.ScriptEvaluateAsync(Text, null, args);
        }
    }
}

/// <summary>The scripts of the Valkey store, loaded once.</summary>
public static class ValkeyScripts
{
    public static ValkeyScript EnqueueMany { get; } = ValkeyScript.Load("enqueue_many");

    public static ValkeyScript Replace { get; } = ValkeyScript.Load("replace");

    public static ValkeyScript Lease { get; } = ValkeyScript.Load("lease");

    /// <summary>Attempts' ends (replace), each with its slot's next lease (lease), in one call.</summary>
    public static ValkeyScript EndAndLeaseMany { get; } = ValkeyScript.Load("end_lease_many");

    public static ValkeyScript Renew { get; } = ValkeyScript.Load("renew");

    public static ValkeyScript Append { get; } = ValkeyScript.Load("append");

    public static ValkeyScript Stats { get; } = ValkeyScript.Load("stats", readOnly: true);

    public static ValkeyScript Purge { get; } = ValkeyScript.Load("purge");

    public static ValkeyScript Info { get; } = ValkeyScript.Load("info", readOnly: true);

    public static ValkeyScript ClaimNode { get; } = ValkeyScript.Load("node");

    public static ValkeyScript ReleaseNode { get; } = ValkeyScript.Load("release");
}
