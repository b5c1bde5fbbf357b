using System.Threading.Channels;

namespace Mosaic.Orchestrator.Queue;

/// <summary>Wakes the worker loop when work may be ready (a spawn, a finished run, a resume) so it does not wait for its poll.</summary>
public sealed class QueueSignal
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Notify() => _signal.Writer.TryWrite(true);

    /// <summary>Completes when notified or when <paramref name="timeout"/> passes on <paramref name="time"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var timer = time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), timeoutSource, timeout, Timeout.InfiniteTimeSpan);
        try
        {
            await _signal.Reader.ReadAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval passed with no signal: time to look again.
        }
    }
}
