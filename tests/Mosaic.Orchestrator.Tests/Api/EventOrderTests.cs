using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

public sealed class EventOrderTests
{
    [Fact]
    public async Task Under_concurrent_spawns_the_stream_delivers_every_event_once_in_id_order()
    {
        await using var host = await TestHost.StartAsync(s => s["MAX_QUEUED_TASKS"] = "100000");
        using (await host.Client.PostAsync("/agents/queue/pause", null))
        {
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/agents/events");
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(": connected", await reader.ReadLineAsync());

        const int spawns = 400;
        await Parallel.ForEachAsync(Enumerable.Range(0, spawns), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
        {
            using var client = new HttpClient { BaseAddress = host.BaseAddress };
            using var spawned = await client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody($"T-order-{i}")), token);
            Assert.Equal(HttpStatusCode.Accepted, spawned.StatusCode);
        });

        var ids = new List<long>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (ids.Count < spawns)
        {
            var line = await reader.ReadLineAsync(deadline.Token) ?? throw new EndOfStreamException();
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                ids.Add(JsonDocument.Parse(line[6..]).RootElement.GetProperty("id").GetInt64());
            }
        }

        Assert.Equal(spawns, ids.Distinct().Count());
        Assert.Equal(ids.Order(), ids);
    }
}
