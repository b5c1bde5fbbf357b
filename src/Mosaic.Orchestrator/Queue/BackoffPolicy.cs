namespace Mosaic.Orchestrator.Queue;

/// <summary>delay = base * 2^(attempt-1), capped (SPEC). No jitter: one node polls, and tests can predict it.</summary>
public sealed record BackoffPolicy(TimeSpan BaseDelay, TimeSpan MaxDelay)
{
    public TimeSpan DelayAfter(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var factor = Math.Pow(2, Math.Min(attempt - 1, 62));
        var ticks = BaseDelay.Ticks * factor;
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }
}
