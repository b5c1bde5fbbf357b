using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Tests.Storage;

/// <summary>The storage and queue contract; every backend runs this same suite.</summary>
public abstract class AgentStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset Now = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);

    protected IAgentStore Agents { get; set; } = null!;
    protected ITaskQueue Queue { get; set; } = null!;
    protected IQueueAdmin Admin { get; set; } = null!;
    protected IEventHistory History { get; set; } = null!;
    protected IAuditStore Audit { get; set; } = null!;
    protected Mosaic.Orchestrator.Storage.IRetentionStore Retention { get; set; } = null!;

    public abstract Task InitializeAsync();

    public abstract Task DisposeAsync();

    protected static AgentRecord NewAgent(string taskId, int priority = 5) => new()
    {
        AgentId = Guid.NewGuid(),
        TaskId = taskId,
        AgentType = AgentType.Worker,
        GateProfile = GateProfile.Standard,
        Priority = priority,
        Context = new AgentContext("https://git.example.test/a.git", "main", ["US-1"], []),
        Status = AgentStatus.Spawning,
        TaskState = TaskState.Pending,
        SpawnedAt = Now,
        MaxAttempts = 3,
    };

    protected Task<EnqueueResult> EnqueueAsync(AgentRecord agent, long maxWaiting) =>
        Queue.EnqueueAsync(agent, maxWaiting, new AgentEvent("agent.spawned", agent.AgentId, agent.TaskId, Now, null), default);

    protected static TaskLease Lease(string owner = "n/i") => new(owner, Guid.NewGuid().ToString("N"));

    /// <summary>Completes a leased task with its agent.completed event and leases the next one with <paramref name="next"/>, in one step.</summary>
    protected static Task<ReplacedAndLeased?> CompleteAndLeaseNextAsync(ITaskQueue queue, AgentRecord leased, TaskLease? next = null, DateTimeOffset? at = null) =>
        queue.TryReplaceAndLeaseNextAsync(AgentLifecycle.Completed(leased, 0, Now), leased.Version,
            new AgentEvent("agent.completed", leased.AgentId, leased.TaskId, Now, null),
            new LeaseRequest(next ?? Lease(), at ?? Now, (at ?? Now).AddSeconds(30)), default);

    private async Task<AgentRecord> EnqueueAndLeaseAsync(string taskId)
    {
        await EnqueueAsync(NewAgent(taskId), 100);
        var leased = await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default);
        Assert.Equal(taskId, leased?.TaskId);
        return leased!;
    }

    [Fact]
    public async Task An_end_stores_its_record_and_event_and_leases_the_next_task_by_priority_then_fifo()
    {
        var leased = await EnqueueAndLeaseAsync("first");
        foreach (var agent in new[] { NewAgent("low", 1), NewAgent("highA", 10), NewAgent("mid", 5), NewAgent("highB", 10) })
        {
            await EnqueueAsync(agent, 100);
        }

        var order = new List<string>();
        while (true)
        {
            var lease = Lease("n/next");
            var both = await CompleteAndLeaseNextAsync(Queue, leased, lease);
            Assert.NotNull(both);
            Assert.Equal((AgentStatus.Completed, leased.Version + 1), (both.Change.Agent.Status, both.Change.Agent.Version));
            var ended = (await Agents.GetAsync(leased.AgentId, default))!;
            Assert.Equal((AgentStatus.Completed, TaskState.Completed, null, both.Change.Agent.Version), (ended.Status, ended.TaskState, ended.Lease, ended.Version));
            Assert.Equal("agent.completed", (await History.ReadAfterAsync(both.Change.Event!.Id - 1, 1, default)).Single().Type);
            if (both.Next is not { } next)
            {
                break;
            }

            // Leased as LeaseNextAsync leases: assigned, one attempt counted, the new lease, and stored so.
            Assert.Equal((TaskState.Assigned, 1, lease), (next.TaskState, next.Attempt, next.Lease));
            var stored = (await Agents.GetAsync(next.AgentId, default))!;
            Assert.Equal((TaskState.Assigned, 1, lease, next.Version), (stored.TaskState, stored.Attempt, stored.Lease, stored.Version));
            Assert.Contains(next.AgentId, (await Queue.ListExpiredLeasesAsync(Now.AddSeconds(31), default)).Select(a => a.AgentId));
            order.Add(next.TaskId);
            leased = next;
        }

        Assert.Equal(["highA", "highB", "mid", "low"], order);
        var stats = await Admin.GetStatsAsync(Now, default);
        Assert.Equal((0, 0, 5), (stats.Pending, stats.Active, stats.Completed));
        Assert.Equal(5, (await History.ReadAfterAsync(0, 100, default)).Count(e => e.Type == "agent.completed"));
    }

    [Fact]
    public async Task An_end_leases_nothing_while_paused_or_before_a_due_time_and_is_stored_all_the_same()
    {
        var first = await EnqueueAndLeaseAsync("first");
        var waiting = NewAgent("waiting");
        await EnqueueAsync(waiting, 100);

        await Admin.SetPausedAsync(true, default);
        var paused = await CompleteAndLeaseNextAsync(Queue, first);
        Assert.Null(paused!.Next);
        Assert.Equal(AgentStatus.Completed, (await Agents.GetAsync(first.AgentId, default))!.Status);
        Assert.Equal((TaskState.Pending, 0), ((await Agents.GetAsync(waiting.AgentId, default))!.TaskState, (await Agents.GetAsync(waiting.AgentId, default))!.Attempt));

        await Admin.SetPausedAsync(false, default);
        var second = (await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default))!;
        Assert.Equal(waiting.AgentId, second.AgentId);
        var later = NewAgent("later") with { NextAttemptAt = Now.AddSeconds(10) };
        await EnqueueAsync(later, 100);
        Assert.Null((await CompleteAndLeaseNextAsync(Queue, second))!.Next);

        var third = await EnqueueAndLeaseAsync("third");
        var due = await CompleteAndLeaseNextAsync(Queue, third, at: Now.AddSeconds(11));
        Assert.Equal((later.AgentId, 1), (due!.Next!.AgentId, due.Next.Attempt));
    }

    [Fact]
    public async Task A_stale_end_writes_nothing_and_leases_nothing()
    {
        var leased = await EnqueueAndLeaseAsync("T-stale");
        var waiting = NewAgent("T-waiting");
        await EnqueueAsync(waiting, 100);
        // Killed meanwhile: the attempt's view of the record is stale.
        var killed = new AgentEvent("agent.killed", leased.AgentId, leased.TaskId, Now, null);
        Assert.NotNull(await Agents.TryReplaceAsync(AgentLifecycle.Killed(leased, "operator", null, Now), leased.Version, null, killed, default));
        var events = await History.ReadAfterAsync(0, 100, default);

        Assert.Null(await CompleteAndLeaseNextAsync(Queue, leased));

        Assert.Equal(AgentStatus.Killed, (await Agents.GetAsync(leased.AgentId, default))!.Status);
        var untouched = (await Agents.GetAsync(waiting.AgentId, default))!;
        Assert.Equal((TaskState.Pending, 0, null), (untouched.TaskState, untouched.Attempt, untouched.Lease));
        Assert.Equal(events.Select(e => e.Id), (await History.ReadAfterAsync(0, 100, default)).Select(e => e.Id));
        var stats = await Admin.GetStatsAsync(Now, default);
        Assert.Equal((1, 0), (stats.Pending, stats.Active));
    }

    [Fact]
    public async Task Concurrent_ends_lease_each_waiting_task_exactly_once()
    {
        var running = new List<AgentRecord>();
        for (var i = 0; i < 8; i++)
        {
            running.Add(await EnqueueAndLeaseAsync($"T-running-{i}"));
        }

        for (var i = 0; i < 5; i++)
        {
            await EnqueueAsync(NewAgent($"T-waiting-{i}"), 100);
        }

        var ends = await Task.WhenAll(running.Select(r => Task.Run(() => CompleteAndLeaseNextAsync(Queue, r))));

        Assert.All(ends, Assert.NotNull);
        var next = ends.Select(e => e!.Next).OfType<AgentRecord>().ToList();
        Assert.Equal(5, next.Select(n => n.AgentId).Distinct().Count());
        Assert.Equal(5, next.Count);
        Assert.All(next, n => Assert.Equal(1, n.Attempt));
        var stats = await Admin.GetStatsAsync(Now, default);
        Assert.Equal((0, 5, 8), (stats.Pending, stats.Active, stats.Completed));
    }

    [Fact]
    public async Task Enqueue_stores_the_record_with_version_and_sequence()
    {
        var agent = NewAgent("T1");
        var result = await EnqueueAsync(agent, 10);
        Assert.Equal(EnqueueOutcome.Enqueued, result.Outcome);
        var stored = await Agents.GetAsync(agent.AgentId, default);
        Assert.NotNull(stored);
        Assert.Equal(1, stored.Version);
        Assert.True(stored.Sequence > 0);
        Assert.Equal(agent.Context.WorkItems, stored.Context.WorkItems);
        Assert.Null(await Agents.GetAsync(Guid.NewGuid(), default));
    }

    [Fact]
    public async Task Enqueue_refuses_a_second_live_agent_for_a_task_and_a_full_queue()
    {
        var first = NewAgent("T1");
        await EnqueueAsync(first, 2);
        var duplicate = await EnqueueAsync(NewAgent("T1"), 2);
        Assert.Equal(EnqueueOutcome.DuplicateLiveTask, duplicate.Outcome);
        Assert.Equal(first.AgentId, duplicate.ExistingAgentId);

        await EnqueueAsync(NewAgent("T2"), 2);
        var full = await EnqueueAsync(NewAgent("T3"), 2);
        Assert.Equal(EnqueueOutcome.QueueFull, full.Outcome);
        Assert.Equal(2, full.Waiting);
        Assert.Equal(first.AgentId, (await Agents.FindLiveByTaskAsync("T1", default))?.AgentId);
        Assert.Null(await Agents.FindLiveByTaskAsync("T3", default));
    }

    [Fact]
    public async Task A_task_whose_agent_ended_takes_a_new_agent_which_is_then_its_live_one()
    {
        var first = NewAgent("T-again");
        await EnqueueAsync(first, 10);
        var leased = (await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default))!;
        Assert.NotNull(await CompleteAndLeaseNextAsync(Queue, leased));
        Assert.Null(await Agents.FindLiveByTaskAsync("T-again", default));

        var second = NewAgent("T-again");
        Assert.Equal(EnqueueOutcome.Enqueued, (await EnqueueAsync(second, 10)).Outcome);
        Assert.Equal(second.AgentId, (await Agents.FindLiveByTaskAsync("T-again", default))?.AgentId);
        var third = await EnqueueAsync(NewAgent("T-again"), 10);
        Assert.Equal((EnqueueOutcome.DuplicateLiveTask, second.AgentId), (third.Outcome, third.ExistingAgentId));
    }

    [Fact]
    public async Task Enqueue_many_answers_each_entry_in_order_as_single_enqueues_would()
    {
        var live = NewAgent("T-live");
        await EnqueueAsync(live, 4);
        AgentRecord[] batch = [NewAgent("T1"), NewAgent("T-live"), NewAgent("T1"), NewAgent("T2"), NewAgent("T3"), NewAgent("T4")];
        var results = await Queue.EnqueueManyAsync(
            [.. batch.Select(a => (a, new AgentEvent("agent.spawned", a.AgentId, a.TaskId, Now, null)))], 4, default);

        Assert.Equal(
            [EnqueueOutcome.Enqueued, EnqueueOutcome.DuplicateLiveTask, EnqueueOutcome.DuplicateLiveTask, EnqueueOutcome.Enqueued,
             EnqueueOutcome.Enqueued, EnqueueOutcome.QueueFull],
            results.Select(r => r.Outcome));
        Assert.Equal(live.AgentId, results[1].ExistingAgentId);
        Assert.Equal(batch[0].AgentId, results[2].ExistingAgentId);
        Assert.True(results[0].Agent!.Sequence < results[3].Agent!.Sequence && results[3].Agent!.Sequence < results[4].Agent!.Sequence);
        Assert.All(new[] { 0, 3, 4 }, i => Assert.NotNull(results[i].Event));
        Assert.Null(await Agents.FindLiveByTaskAsync("T4", default));
        Assert.Equal(4, (await Admin.GetStatsAsync(Now, default)).Pending);
    }

    [Fact]
    public async Task Enqueue_many_of_1000_with_duplicates_and_a_full_queue_stores_what_one_by_one_enqueues_would()
    {
        for (var i = 0; i < 10; i++)
        {
            await EnqueueAsync(NewAgent($"L-{i}"), 100);
        }

        var before = (await History.ReadAfterAsync(0, 100, default)).Max(e => e.Id);
        // Live tasks, earlier entries of the batch (some of them refused as full, so not live) and new tasks, across
        // the backends' chunk sizes (64 rows a statement, 100 entries a script).
        var batch = Enumerable.Range(0, 1000).Select(i => NewAgent(
            i % 50 == 7 ? $"L-{i / 50 % 10}" : i % 13 == 5 && i >= 13 ? $"B-{i - 13}" : $"B-{i}", priority: 1 + i % 10)).ToArray();
        const long maxWaiting = 880;

        var expected = new List<(EnqueueOutcome Outcome, Guid? Existing, long Waiting)>();
        var live = new Dictionary<string, Guid>();
        for (var i = 0; i < 10; i++)
        {
            live[$"L-{i}"] = (await Agents.FindLiveByTaskAsync($"L-{i}", default))!.AgentId;
        }

        long waiting = 10;
        foreach (var agent in batch)
        {
            if (live.TryGetValue(agent.TaskId, out var existing))
            {
                expected.Add((EnqueueOutcome.DuplicateLiveTask, existing, 0));
            }
            else if (waiting >= maxWaiting)
            {
                expected.Add((EnqueueOutcome.QueueFull, null, waiting));
            }
            else
            {
                live[agent.TaskId] = agent.AgentId;
                expected.Add((EnqueueOutcome.Enqueued, null, ++waiting));
            }
        }

        Assert.Contains(expected, e => e.Outcome == EnqueueOutcome.QueueFull);
        Assert.Contains(expected, e => e.Outcome == EnqueueOutcome.DuplicateLiveTask && !batch.Any(a => a.AgentId == e.Existing));
        Assert.Contains(expected, e => e.Outcome == EnqueueOutcome.DuplicateLiveTask && batch.Any(a => a.AgentId == e.Existing));

        var results = await Queue.EnqueueManyAsync(
            [.. batch.Select(a => (a, new AgentEvent("agent.spawned", a.AgentId, a.TaskId, Now, null)))], maxWaiting, default);

        Assert.Equal(expected, results.Select(r => (r.Outcome, r.ExistingAgentId, r.Outcome == EnqueueOutcome.DuplicateLiveTask ? 0 : r.Waiting)));
        var queued = results.Select((r, i) => (Result: r, Agent: batch[i])).Where(q => q.Result.Outcome == EnqueueOutcome.Enqueued).ToArray();
        Assert.All(results.Where(r => r.Outcome != EnqueueOutcome.Enqueued), r => Assert.True(r.Agent is null && r.Event is null));
        Assert.Equal(queued.Select(q => q.Result.Agent!.Sequence).Order(), queued.Select(q => q.Result.Agent!.Sequence));
        Assert.Equal(queued.Length, queued.Select(q => q.Result.Agent!.Sequence).Distinct().Count());
        foreach (var (result, agent) in queued)
        {
            var stored = await Agents.GetAsync(agent.AgentId, default);
            Assert.Equal((agent.TaskId, agent.Priority, 1L, result.Agent!.Sequence, TaskState.Pending),
                (stored!.TaskId, stored.Priority, stored.Version, stored.Sequence, stored.TaskState));
        }

        var history = await History.ReadAfterAsync(before, 2000, default);
        Assert.Equal(queued.Select(q => (q.Agent.AgentId, q.Agent.TaskId, q.Result.Event!.Id)), history.Select(e => (e.AgentId, e.TaskId, e.Id)));
        Assert.Equal(history.Select(e => e.Id).Order(), history.Select(e => e.Id));
        Assert.Equal(maxWaiting, (await Admin.GetStatsAsync(Now, default)).Pending);
        Assert.Equal(queued[^1].Agent.AgentId, (await Agents.FindLiveByTaskAsync(queued[^1].Agent.TaskId, default))!.AgentId);
    }

    [Fact]
    public async Task Lease_takes_highest_priority_first_fifo_within_and_counts_the_attempt()
    {
        var low = NewAgent("low", 1);
        var highA = NewAgent("highA", 10);
        var mid = NewAgent("mid", 5);
        var highB = NewAgent("highB", 10);
        foreach (var agent in new[] { low, highA, mid, highB })
        {
            await EnqueueAsync(agent, 100);
        }

        var order = new List<string>();
        while (await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default) is { } leased)
        {
            Assert.Equal(TaskState.Assigned, leased.TaskState);
            Assert.Equal(1, leased.Attempt);
            order.Add(leased.TaskId);
        }

        Assert.Equal(["highA", "highB", "mid", "low"], order);
    }

    [Fact]
    public async Task Delayed_tasks_wait_for_their_due_time_and_paused_queues_lease_nothing()
    {
        var delayed = NewAgent("later") with { NextAttemptAt = Now.AddSeconds(10) };
        await EnqueueAsync(delayed, 10);
        Assert.Null(await Queue.LeaseNextAsync(Lease(), Now, Now.AddSeconds(30), default));
        var stats = await Admin.GetStatsAsync(Now, default);
        Assert.Equal((0, 1), (stats.Pending, stats.Delayed));

        await Admin.SetPausedAsync(true, default);
        Assert.True(await Admin.IsPausedAsync(default));
        Assert.Null(await Queue.LeaseNextAsync(Lease(), Now.AddSeconds(11), Now.AddSeconds(41), default));
        Assert.True((await Admin.GetStatsAsync(Now, default)).Paused);

        await Admin.SetPausedAsync(false, default);
        Assert.Equal("later", (await Queue.LeaseNextAsync(Lease(), Now.AddSeconds(11), Now.AddSeconds(41), default))?.TaskId);
        stats = await Admin.GetStatsAsync(Now.AddSeconds(11), default);
        Assert.Equal((0, 1, 0), (stats.Pending, stats.Active, stats.Delayed));
        // The emergency stop's flag stands apart from the pause, and both are read by every instance from the store.
        Assert.False(await Admin.IsEmergencyStoppedAsync(default));
        await Admin.SetEmergencyStopAsync(true, default);
        Assert.True(await Admin.IsEmergencyStoppedAsync(default));
        Assert.Equal((true, false), ((await Admin.GetStatsAsync(Now, default)).EmergencyStop, (await Admin.GetStatsAsync(Now, default)).Paused));
        await Admin.SetEmergencyStopAsync(false, default);
        Assert.False((await Admin.GetStatsAsync(Now, default)).EmergencyStop);
    }

    [Fact]
    public async Task Replace_is_compare_and_set_on_the_version()
    {
        var agent = NewAgent("T1");
        await EnqueueAsync(agent, 10);
        var stored = (await Agents.GetAsync(agent.AgentId, default))!;
        var first = (await Agents.TryReplaceAsync(stored with { Error = "first" }, stored.Version, null, null, default))?.Agent;
        Assert.NotNull(first);
        Assert.Equal(stored.Version + 1, first.Version);
        var stale = await Agents.TryReplaceAsync(stored with { Error = "stale" }, stored.Version, null, null, default);
        Assert.Null(stale);
        Assert.Equal("first", (await Agents.GetAsync(agent.AgentId, default))!.Error);
    }

    [Fact]
    public async Task A_change_and_its_event_are_stored_together_or_not_at_all()
    {
        var agent = NewAgent("T1");
        var enqueued = await EnqueueAsync(agent, 10);
        Assert.True(enqueued.Event!.Id > 0);
        var stored = (await Agents.GetAsync(agent.AgentId, default))!;
        var killed = new AgentEvent("agent.killed", agent.AgentId, "T1", Now, null);
        var change = await Agents.TryReplaceAsync(stored with { Status = AgentStatus.Killed, TaskState = TaskState.Failed }, stored.Version, null, killed, default);
        Assert.NotNull(change);
        Assert.True(change.Event!.Id > enqueued.Event.Id);
        var lost = await Agents.TryReplaceAsync(stored with { Status = AgentStatus.Completed }, stored.Version, null, killed with { Type = "agent.completed" }, default);
        Assert.Null(lost);
        Assert.Equal(["agent.spawned", "agent.killed"], (await History.ReadAfterAsync(0, 10, default)).Select(e => e.Type));
    }

    [Fact]
    public async Task Leases_renew_only_with_their_token_and_expire_into_the_expired_list()
    {
        var agent = NewAgent("T1");
        await EnqueueAsync(agent, 10);
        var lease = Lease();
        var leased = (await Queue.LeaseNextAsync(lease, Now, Now.AddSeconds(30), default))!;
        Assert.Empty(await Queue.ListExpiredLeasesAsync(Now.AddSeconds(29), default));
        Assert.Equal([agent.AgentId], (await Queue.ListExpiredLeasesAsync(Now.AddSeconds(31), default)).Select(a => a.AgentId));

        Assert.False(await Queue.RenewLeaseAsync(agent.AgentId, "not-the-token", Now.AddSeconds(90), default));
        Assert.True(await Queue.RenewLeaseAsync(agent.AgentId, lease.Token, Now.AddSeconds(90), default));
        Assert.Empty(await Queue.ListExpiredLeasesAsync(Now.AddSeconds(60), default));

        // A condition on expiry refuses to take over a lease that was renewed meanwhile.
        Assert.Null(await Agents.TryReplaceAsync(leased with { Lease = null, TaskState = TaskState.Pending }, leased.Version, Now.AddSeconds(60), null, default));
        Assert.NotNull(await Agents.TryReplaceAsync(leased with { Lease = null, TaskState = TaskState.Pending }, leased.Version, Now.AddSeconds(91), null, default));
        Assert.Empty(await Queue.ListExpiredLeasesAsync(Now.AddSeconds(200), default));
    }

    [Fact]
    public async Task Retention_removes_agents_that_ended_before_the_cutoff_and_old_events_and_never_a_live_agent()
    {
        async Task<AgentRecord> EndedAsync(string taskId, DateTimeOffset at)
        {
            var agent = NewAgent(taskId);
            await EnqueueAsync(agent, 100);
            var stored = (await Agents.GetAsync(agent.AgentId, default))!;
            return (await Agents.TryReplaceAsync(stored with { Status = AgentStatus.Failed, TaskState = TaskState.Failed, CompletedAt = at }, stored.Version, null, null, default))!.Agent;
        }

        // Event ids grow with time: the history's old part is a prefix.
        var before = await History.AppendAsync(new AgentEvent("agent.progress", Guid.NewGuid(), "T-gone", Now.AddDays(-35), null), default);
        var old = await EndedAsync("T-old", Now.AddDays(-40));
        var recent = await EndedAsync("T-recent", Now.AddDays(-1));
        var live = NewAgent("T-live");
        await EnqueueAsync(live, 100);
        var cutoff = Now.AddDays(-30);

        var found = await Retention.ListEndedBeforeAsync(cutoff, 10, default);
        Assert.Equal([old.AgentId], found.Select(a => a.AgentId));
        Assert.Equal(1, await Retention.DeleteEndedAsync([old.AgentId, live.AgentId], default));
        Assert.Null(await Agents.GetAsync(old.AgentId, default));
        Assert.NotNull(await Agents.GetAsync(live.AgentId, default));
        Assert.NotNull(await Agents.GetAsync(recent.AgentId, default));
        Assert.DoesNotContain(old.AgentId, (await Agents.ListAsync(new AgentQuery(null, null, 50, 0), default)).Items.Select(a => a.AgentId));
        Assert.Equal(1, (await Admin.GetStatsAsync(Now, default)).Failed); // only the recent one is left to count
        Assert.Equal(0, await Retention.DeleteEndedAsync([old.AgentId], default));

        var after = await History.AppendAsync(new AgentEvent("agent.progress", live.AgentId, "T-live", Now.AddDays(-2), null), default);
        Assert.Equal(1, await Retention.DeleteEventsBeforeAsync(cutoff, default));
        var left = await History.ReadAfterAsync(0, 1000, default);
        Assert.DoesNotContain(before.Id, left.Select(e => e.Id));
        Assert.Contains(after.Id, left.Select(e => e.Id));
    }

    [Fact]
    public async Task A_terminal_agent_frees_its_task_id_and_leaves_the_live_list()
    {
        var agent = NewAgent("T1");
        await EnqueueAsync(agent, 10);
        Assert.Single(await Agents.ListLiveAsync(default));
        var stored = (await Agents.GetAsync(agent.AgentId, default))!;
        await Agents.TryReplaceAsync(stored with { Status = AgentStatus.Killed, TaskState = TaskState.Failed }, stored.Version, null, null, default);
        Assert.Empty(await Agents.ListLiveAsync(default));
        Assert.Equal(EnqueueOutcome.Enqueued, (await EnqueueAsync(NewAgent("T1"), 10)).Outcome);
        var stats = await Admin.GetStatsAsync(Now, default);
        Assert.Equal((1, 0, 1), (stats.Pending, stats.Failed, stats.Killed)); // a killed task is not a failed one
    }

    [Fact]
    public async Task List_filters_and_pages_newest_first()
    {
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var agent = NewAgent($"T{i}");
            ids.Add(agent.AgentId);
            await EnqueueAsync(agent, 10);
        }

        var page = await Agents.ListAsync(new AgentQuery(null, null, 2, 0), default);
        Assert.Equal(5, page.Total);
        Assert.Equal([ids[4], ids[3]], page.Items.Select(a => a.AgentId));
        var byTask = await Agents.ListAsync(new AgentQuery(AgentStatus.Spawning, "T2", 10, 0), default);
        Assert.Equal([ids[2]], byTask.Items.Select(a => a.AgentId));
        Assert.Empty((await Agents.ListAsync(new AgentQuery(AgentStatus.Completed, null, 10, 0), default)).Items);
    }

    [Fact]
    public async Task Event_history_assigns_increasing_ids_and_reads_after_an_id()
    {
        var agentId = Guid.NewGuid();
        var first = await History.AppendAsync(new AgentEvent("agent.spawned", agentId, "T1", Now, null), default);
        var data = System.Text.Json.JsonSerializer.SerializeToElement(new { reason = "x" });
        var second = await History.AppendAsync(new AgentEvent("agent.failed", agentId, "T1", Now, data), default);
        Assert.True(second.Id > first.Id);
        var after = await History.ReadAfterAsync(first.Id, 10, default);
        Assert.Equal([second.Id], after.Select(e => e.Id));
        Assert.Equal("x", after[0].Data!.Value.GetProperty("reason").GetString());
        Assert.Single(await History.ReadAfterAsync(0, 1, default));
    }

    [Fact]
    public async Task The_start_before_an_instant_is_found_in_few_reads_and_skips_only_earlier_events()
    {
        // Two hours of another agent's events, a minute apart, up to five minutes past the instant.
        var other = Guid.NewGuid();
        var appended = new List<AgentEvent>();
        for (var minute = -120; minute < 5; minute++)
        {
            appended.Add(await History.AppendAsync(new AgentEvent("agent.progress", other, "T-other", Now.AddMinutes(minute), null), default));
        }

        var counting = new CountingHistory(History);
        var start = await EventHistorySearch.StartBeforeAsync(counting, Now, default);

        // Everything at or after "Now - ClockMargin" is still read; what is skipped is all older.
        var skipped = appended.Where(e => e.Id <= start).ToList();
        var kept = appended.Where(e => e.Id > start).ToList();
        Assert.All(skipped, e => Assert.True(e.Timestamp < Now - EventHistorySearch.ClockMargin, $"{e.Timestamp} was skipped"));
        Assert.Equal(Now - EventHistorySearch.ClockMargin, kept.Min(e => e.Timestamp));
        Assert.True(counting.Reads <= 2 * Math.Ceiling(Math.Log2(appended[^1].Id)) + 3, $"{counting.Reads} reads");
        Assert.Equal(0, await EventHistorySearch.StartBeforeAsync(History, Now.AddHours(-3), default));
    }

    private sealed class CountingHistory(IEventHistory inner) : IEventHistory
    {
        public int Reads { get; private set; }

        public Task<AgentEvent> AppendAsync(AgentEvent agentEvent, CancellationToken cancellationToken) => inner.AppendAsync(agentEvent, cancellationToken);

        public Task<IReadOnlyList<AgentEvent>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken)
        {
            Reads++;
            return inner.ReadAfterAsync(afterId, max, cancellationToken);
        }
    }

    [Fact]
    public async Task Audit_lists_newest_first_in_pages_with_the_total()
    {
        var none = await Audit.ListAsync(10, 0, default);
        Assert.Empty(none.Items);
        Assert.Equal(0, none.Total);
        foreach (var actor in new[] { "a", "b", "c" })
        {
            await Audit.AppendAsync(new AuditEntry("kill", actor, Guid.NewGuid(), "T-" + actor, "r", "running", Now), default);
        }

        var all = await Audit.ListAsync(10, 0, default);
        Assert.Equal(["c", "b", "a"], all.Items.Select(e => e.Actor));
        Assert.Equal(3, all.Total);
        var middle = await Audit.ListAsync(1, 1, default);
        Assert.Equal(["b"], middle.Items.Select(e => e.Actor));
        Assert.Equal(3, middle.Total);
        var past = await Audit.ListAsync(10, 5, default);
        Assert.Empty(past.Items);
        Assert.Equal(3, past.Total);
    }
}
