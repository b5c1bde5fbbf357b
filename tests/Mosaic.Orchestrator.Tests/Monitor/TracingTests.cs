using System.Collections.Concurrent;
using System.Diagnostics;
using Mosaic.Orchestrator.Monitor;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Monitor;

public sealed class TracingTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _ended = new();
    private readonly ActivityListener _listener;

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == AttemptTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ended.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task An_attempt_is_a_span_with_a_child_per_step_in_order()
    {
        await using var host = await TestHost.StartAsync();
        var id = await host.SpawnAsync("T-traced");
        await Wait.UntilAsync(async () => (await host.StatusAsync(id)).GetProperty("status").GetString() == "completed", "the agent to complete",
            TimeSpan.FromSeconds(60));

        // Other tests' agents run in this process too: only this agent's spans count.
        var spans = SpansOf(id);
        var attempt = Assert.Single(spans, s => s.OperationName == "attempt");
        Assert.Equal("succeeded", attempt.GetTagItem(AttemptTracing.OutcomeTag));
        Assert.Equal("T-traced", attempt.GetTagItem(AttemptTracing.TaskIdTag));

        var steps = spans.Where(s => s != attempt).ToList();
        Assert.Equal(["runtime-check", "prepare", "run-agent", "commit", "secret-scan", "gates", "conflict", "push"], steps.Select(s => s.OperationName));
        Assert.All(steps, s =>
        {
            Assert.Equal(attempt.SpanId, s.ParentSpanId);
            Assert.Equal(attempt.TraceId, s.TraceId);
            Assert.Equal(s.OperationName, s.GetTagItem(AttemptTracing.StepTag));
            Assert.Equal("T-traced", s.GetTagItem(AttemptTracing.TaskIdTag));
            Assert.Equal("next", s.GetTagItem(AttemptTracing.OutcomeTag));
        });
        for (var i = 1; i < steps.Count; i++)
        {
            Assert.True(steps[i].StartTimeUtc >= steps[i - 1].StartTimeUtc + steps[i - 1].Duration, $"{steps[i].OperationName} began before {steps[i - 1].OperationName} ended");
        }
    }

    [Fact]
    public async Task A_failing_step_is_the_last_span_and_names_the_reason()
    {
        await using var host = await TestHost.StartAsync();
        var id = await host.SpawnAsync("T-traced-bad", branch: "no-such-branch");
        await Wait.UntilAsync(async () => (await host.StatusAsync(id)).GetProperty("status").GetString() == "failed", "the agent to fail",
            TimeSpan.FromSeconds(60));

        var spans = SpansOf(id);
        Assert.Equal(["runtime-check", "prepare", "attempt"], spans.OrderBy(s => s.StartTimeUtc + s.Duration).Select(s => s.OperationName));
        foreach (var span in spans.Where(s => s.OperationName is "prepare" or "attempt"))
        {
            Assert.Equal("failed", span.GetTagItem(AttemptTracing.OutcomeTag));
            Assert.Equal("bad-repository", span.GetTagItem(AttemptTracing.ReasonTag));
            Assert.Equal(ActivityStatusCode.Error, span.Status);
        }
    }

    private List<Activity> SpansOf(Guid agentId) =>
        [.. _ended.Where(a => (string?)a.GetTagItem(AttemptTracing.AgentIdTag) == agentId.ToString()).OrderBy(a => a.StartTimeUtc)];
}
