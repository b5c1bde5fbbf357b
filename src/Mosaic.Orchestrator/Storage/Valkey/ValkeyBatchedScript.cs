using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>
/// Calls of one many-entry script (each_entry in common.lua), sent together when they come together. At most
/// <c>maxInFlight</c> script calls are on the wire at once: a call made while they are waits, and goes with every
/// other call made meanwhile in the next script call, sent as soon as one on the wire answers. A lone caller pays
/// nothing for it (its call goes at once, as a batch of one); callers that come together (worker slots ending attempts,
/// concurrent spawns) cost the server one script call and the client one round trip per batch instead of one each.
/// Entries are applied in the order they were made (batches are written to the connection in the order they were
/// taken; only the retry of a batch after the server lost its scripts can pass another), and each answers, or fails,
/// on its own.
/// </summary>
public sealed class ValkeyBatchedScript(ValkeyConnection valkey, ValkeyScript script, int width, int maxInFlight = 2, int maxEntries = 100)
{
    private readonly Lock _gate = new();
    private List<Call> _waiting = [];
    private int _inFlight;

    /// <summary>Runs one entry (<c>width</c> arguments, without the prefix and history length) and answers its reply.</summary>
    public Task<RedisResult> RunAsync(RedisValue[] entry)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(entry.Length, width, nameof(entry));
        var call = new Call(entry);
        List<Call> batch;
        Task<RedisResult> sent;
        lock (_gate)
        {
            if (_inFlight >= maxInFlight)
            {
                _waiting.Add(call);
                return call.Reply.Task;
            }

            _inFlight++;
            batch = [call];
            sent = Send(batch);
        }

        _ = AnswerAsync(batch, sent);
        return call.Reply.Task;
    }

    // Written while the gate is held, so that batches reach the connection in the order they were taken. A failure
    // to send (a connection disposed under it) is the batch's answer, so that the loop answering it still runs.
    private Task<RedisResult> Send(List<Call> batch)
    {
        try
        {
            var args = new RedisValue[width * batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Entry.CopyTo(args, i * width);
            }

            return valkey.RunAsync(script, args);
        }
        catch (Exception ex)
        {
            return Task.FromException<RedisResult>(ex);
        }
    }

    // One loop per call on the wire: it answers its batch, then sends whatever waited meanwhile, until nothing waits.
    // It never throws: a failed call fails its entries.
    private async Task AnswerAsync(List<Call> batch, Task<RedisResult> sent)
    {
        while (true)
        {
            await AnswerOnceAsync(batch, sent);
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _inFlight--;
                    return;
                }

                if (_waiting.Count <= maxEntries)
                {
                    (batch, _waiting) = (_waiting, []);
                }
                else
                {
                    batch = _waiting[..maxEntries];
                    _waiting.RemoveRange(0, maxEntries);
                }

                sent = Send(batch);
            }
        }
    }

    // Every entry is answered, whatever happens: a caller left waiting would wait for good.
    private static async Task AnswerOnceAsync(List<Call> batch, Task<RedisResult> sent)
    {
        try
        {
            var replies = (RedisResult[])(await sent)!;
            for (var i = 0; i < batch.Count; i++)
            {
                if (Reply(replies, i) is { } reply)
                {
                    batch[i].Reply.TrySetResult(reply);
                }
                else
                {
                    batch[i].Reply.TrySetException(EntryFailed(replies, i));
                }
            }
        }
        catch (Exception ex)
        {
            foreach (var call in batch)
            {
                call.Reply.TrySetException(ex); // the entries already answered keep their answers
            }
        }
    }

    /// <summary>Entry <paramref name="i"/>'s reply in a many-entry script's answer (each_entry in common.lua), or null when it failed.</summary>
    public static RedisResult? Reply(RedisResult[] replies, int i) => (long)replies[2 * i] == 1 ? replies[2 * i + 1] : null;

    /// <summary>The error entry <paramref name="i"/> answered, as the exception a script call of its own would have thrown.</summary>
    public static RedisServerException EntryFailed(RedisResult[] replies, int i) =>
        new(RedisErrorKind.UnknownError, CommandFlags.None, replies[2 * i + 1].ToString());

    private sealed record Call(RedisValue[] Entry)
    {
        // The callers of a batch go on, one after the other, on the thread that answers it, until they await again:
        // their next calls then join the next batch at once (with a hop to the thread pool each, batches in the
        // queue benchmark at concurrency 8 held 2.5 entries instead of 4). The store's callers await again soon: the
        // worker hands a leased task to the pool, a spawn writes its answer.
        public TaskCompletionSource<RedisResult> Reply { get; } = new();
    }
}
