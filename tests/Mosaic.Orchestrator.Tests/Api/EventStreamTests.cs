using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class EventStreamTests
{
    private sealed record SseFrame(long Id, string Event, JsonElement Data);

    private static async Task<List<SseFrame>> ReadFramesAsync(StreamReader reader, int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var frames = new List<SseFrame>();
        long id = 0;
        string? type = null;
        while (frames.Count < count)
        {
            var line = await reader.ReadLineAsync(deadline.Token) ?? throw new EndOfStreamException();
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                frames.Add(new SseFrame(id, type!, JsonDocument.Parse(line[6..]).RootElement.Clone()));
            }
        }

        return frames;
    }

    [Fact]
    public async Task An_open_stream_ends_when_the_service_stops_and_does_not_hold_up_its_exit()
    {
        await using var service = ServiceProcess.Start(
            ["--ORCHESTRATOR_PORT=0", "--DATA_DIR=" + TempDirectory.Create("sse-stop"), "--AGENT_RUNTIME=command", "--AGENT_COMMAND=true"]);
        using var client = new HttpClient { BaseAddress = await service.WaitForListeningAsync() };
        using var response = await client.GetAsync("/agents/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(": connected", await reader.ReadLineAsync());

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        service.Terminate();
        // The server waits up to 30 s for open requests; a stream that ignored the stop held the exit that long.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var rest = await reader.ReadToEndAsync(deadline.Token);
        await service.WaitForExitAsync(TimeSpan.FromSeconds(Math.Max(0.1, 5 - stopping.Elapsed.TotalSeconds)));

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"stopped after {stopping.Elapsed}");
        Assert.Contains(": service stopping", rest);
        Assert.Equal(0, service.ExitCode);
    }

    /// <summary>
    /// Streams that are opened and never read cost memory: a caller (key identity and address) has at most
    /// EVENT_STREAMS_PER_CALLER open, the next is a 429 with Retry-After, another address is not affected, and a stream
    /// that ends gives its slot back.
    /// </summary>
    [Fact]
    public async Task A_caller_has_at_most_event_streams_per_caller_open_and_a_stream_that_ends_frees_its_slot()
    {
        await using var host = await TestHost.StartAsync(s => s["EVENT_STREAMS_PER_CALLER"] = "2");
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var stream = await host.Client.GetAsync("/agents/events", HttpCompletionOption.ResponseHeadersRead);
                open.Add(stream);
                Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            }

            using (var refused = await host.Client.GetAsync("/agents/events", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal((HttpStatusCode)429, refused.StatusCode);
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                Assert.Equal(TimeSpan.FromSeconds(15), refused.Headers.RetryAfter?.Delta);
                Assert.Contains("EVENT_STREAMS_PER_CALLER", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
            }

            using (var other = Loopback.ClientFrom("127.0.0.2", host.BaseAddress))
            using (var elsewhere = await other.GetAsync("/agents/events", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
            }

            // Other routes are not streams: they still answer.
            using (var list = await host.Client.GetAsync("/agents"))
            {
                Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            }

            open[0].Dispose(); // the client goes away: the server sees the request aborted and ends the stream
            open.RemoveAt(0);
            HttpResponseMessage? again = null;
            await Wait.UntilAsync(async () =>
            {
                var attempt = await host.Client.GetAsync("/agents/events", HttpCompletionOption.ResponseHeadersRead);
                if (attempt.StatusCode == HttpStatusCode.OK)
                {
                    again = attempt;
                    return true;
                }

                Assert.Equal((HttpStatusCode)429, attempt.StatusCode);
                attempt.Dispose();
                return false;
            }, "the closed stream's slot to be given back");
            open.Add(again!);
        }
        finally
        {
            open.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task The_stream_carries_each_transition_in_order_with_spec_fields()
    {
        await using var host = await TestHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/agents/events");
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(": connected", await reader.ReadLineAsync());

        var id = await host.SpawnAsync("T-sse");
        var frames = await ReadFramesAsync(reader, 8, TimeSpan.FromSeconds(20));
        // A worker's standard profile: typecheck, lint, tests, coverage, each with its agent.gate event.
        Assert.Equal(["agent.spawned", "agent.running", "agent.gate", "agent.gate", "agent.gate", "agent.gate", "agent.completed", "agent.cleanup"], frames.Select(f => f.Event));
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.First.Id < p.Second.Id));
        foreach (var frame in frames)
        {
            Assert.Equal(frame.Event, frame.Data.GetProperty("type").GetString());
            Assert.Equal(id, frame.Data.GetProperty("agentId").GetGuid());
            Assert.Equal("T-sse", frame.Data.GetProperty("taskId").GetString());
            Assert.True(frame.Data.TryGetProperty("timestamp", out _));
        }
    }

    [Fact]
    public async Task A_client_resuming_with_last_event_id_gets_what_it_missed_then_live_events()
    {
        await using var host = await TestHost.StartAsync();
        var first = await host.SpawnAsync("T-resume-1");
        await host.Events.WaitForAsync(first, "agent.cleanup");
        var spawnedId = host.Events.For(first).Single(e => e.Type == "agent.spawned").Id;

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/agents/events?agentId={first}");
        request.Headers.Add("Last-Event-ID", spawnedId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var replayed = await ReadFramesAsync(reader, 7, TimeSpan.FromSeconds(10));
        Assert.Equal(["agent.running", "agent.gate", "agent.gate", "agent.gate", "agent.gate", "agent.completed", "agent.cleanup"], replayed.Select(f => f.Event));

        using var all = new HttpRequestMessage(HttpMethod.Get, "/agents/events?since=0");
        using var allResponse = await host.Client.SendAsync(all, HttpCompletionOption.ResponseHeadersRead);
        using var allReader = new StreamReader(await allResponse.Content.ReadAsStreamAsync());
        var history = await ReadFramesAsync(allReader, 8, TimeSpan.FromSeconds(10));
        var second = await host.SpawnAsync("T-resume-2");
        var live = await ReadFramesAsync(allReader, 1, TimeSpan.FromSeconds(10));
        Assert.Equal(second, live[0].Data.GetProperty("agentId").GetGuid());
        Assert.True(live[0].Id > history[^1].Id);
    }
}
