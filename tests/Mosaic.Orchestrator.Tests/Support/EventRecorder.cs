using Mosaic.Orchestrator.Events;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>Records every event the host publishes from its start; tests wait on events instead of sleeping.</summary>
public sealed class EventRecorder : IDisposable
{
    private readonly List<AgentEvent> _events = [];
    private readonly Lock _gate = new();
    private readonly EventBroadcaster.Subscription _subscription;
    private readonly Task _pump;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public EventRecorder(EventBroadcaster broadcaster)
    {
        _subscription = broadcaster.Subscribe();
        _pump = PumpAsync();
    }

    public IReadOnlyList<AgentEvent> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<AgentEvent> For(Guid agentId) => [.. All.Where(e => e.AgentId == agentId)];

    public async Task<AgentEvent> WaitForAsync(Func<AgentEvent, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var found = _events.FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                throw new TimeoutException("expected event did not arrive; seen: " + string.Join(", ", All.Select(e => $"{e.Type}:{e.TaskId}")));
            }
        }
    }

    public Task<AgentEvent> WaitForAsync(Guid agentId, string type, TimeSpan? timeout = null) =>
        WaitForAsync(e => e.AgentId == agentId && e.Type == type, timeout);

    /// <summary>Waits for the <paramref name="count"/>-th event of a type for the agent.</summary>
    public async Task WaitForCountAsync(Guid agentId, string type, int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (For(agentId).Count(e => e.Type == type) < count)
        {
            await WaitForAsync(e => For(agentId).Count(x => x.Type == type) >= count, deadline - DateTime.UtcNow);
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var agentEvent in _subscription.Reader.ReadAllAsync())
            {
                TaskCompletionSource previous;
                lock (_gate)
                {
                    _events.Add(agentEvent);
                    previous = _changed;
                    _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                previous.TrySetResult();
            }
        }
        catch (Exception ex) when (ex is SubscriberTooSlowException or OperationCanceledException)
        {
            // recorder stopped
        }
    }

    public void Dispose()
    {
        _subscription.Dispose();
        _pump.Wait(TimeSpan.FromSeconds(5));
    }
}
