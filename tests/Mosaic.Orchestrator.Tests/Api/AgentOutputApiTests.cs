using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

/// <summary>GET /agents/{id}/logs and /diff through HTTP, with real agents of the command runtime and a real repository.</summary>
public sealed class AgentOutputApiTests
{
    /// <summary>
    /// An agent that prints a line, waits for the test's signal file, prints another and adds a file: the follow shows
    /// the first line while the agent runs, the rest after the signal, then ends with `end`.
    /// </summary>
    private static string SignalledCommand(string signal) =>
        $"echo first-line; while [ ! -f '{signal}' ]; do sleep 0.05; done; printf 'second-line\\r\\nno-newline-at-end'; echo added-by-agent > added.txt";

    [Fact]
    public async Task A_followed_log_streams_lines_while_the_agent_runs_and_ends_when_it_completes_then_logs_and_diff_read_back()
    {
        var signal = Path.Combine(TempDirectory.Create("signal"), "go");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = SignalledCommand(signal));
        var agentId = await host.SpawnAsync("output-follow");

        using var response = await host.Client.GetAsync($"/agents/{agentId}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        async Task ReadUntilAsync(string line)
        {
            while (!seen.Contains(line))
            {
                seen.Add(await reader.ReadLineAsync(deadline.Token) ?? throw new EndOfStreamException(string.Join("\n", seen)));
            }
        }

        await ReadUntilAsync("data: first-line");
        Assert.Contains("event: log", seen);

        // Still running: no commit yet, so no diff.
        using (var early = await host.Client.GetAsync($"/agents/{agentId}/diff"))
        {
            Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);
            Assert.Equal("application/problem+json", early.Content.Headers.ContentType?.MediaType);
        }

        await File.WriteAllTextAsync(signal, "go");
        await ReadUntilAsync("event: end");
        var rest = await reader.ReadToEndAsync(deadline.Token);
        Assert.Contains("data: second-line", seen);
        Assert.Contains("data: no-newline-at-end", seen);
        Assert.Equal("data: completed", rest.Split('\n', StringSplitOptions.RemoveEmptyEntries).First());

        using (var log = await host.Client.GetAsync($"/agents/{agentId}/logs"))
        {
            Assert.Equal(HttpStatusCode.OK, log.StatusCode);
            Assert.Equal("text/plain", log.Content.Headers.ContentType?.MediaType);
            var text = await log.Content.ReadAsStringAsync();
            Assert.StartsWith("first-line\n", text);
            Assert.Contains("second-line\r\nno-newline-at-end", text);
        }

        Assert.Equal(await host.Client.GetStringAsync($"/agents/{agentId}/logs"), await host.Client.GetStringAsync($"/agents/{agentId}/logs?attempt=1"));
        using (var diff = await host.Client.GetAsync($"/agents/{agentId}/diff"))
        {
            Assert.Equal(HttpStatusCode.OK, diff.StatusCode);
            Assert.Equal("text/x-diff", diff.Content.Headers.ContentType?.MediaType);
            var text = await diff.Content.ReadAsStringAsync();
            Assert.Contains("diff --git a/added.txt b/added.txt", text);
            Assert.Contains("+added-by-agent", text);
            Assert.DoesNotContain("truncated", text);
        }

        // The bound: the diff is cut at the last line end inside it, and says so.
        var agent = await host.Get<Mosaic.Orchestrator.Agents.IAgentStore>().GetAsync(agentId, default);
        var whole = await host.Get<Mosaic.Orchestrator.Workspaces.IWorkspaceInspector>().DiffAsync(agent!, 1 << 20, default);
        var cut = await host.Get<Mosaic.Orchestrator.Workspaces.IWorkspaceInspector>().DiffAsync(agent!, 60, default);
        Assert.False(whole.Truncated);
        Assert.True(cut.Truncated);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(cut.Text), 1, 60);
        Assert.EndsWith("\n", cut.Text);
        Assert.StartsWith(cut.Text, whole.Text);

        // A followed log of an agent that already ended: all of it, then the end.
        var replay = await host.Client.GetStringAsync($"/agents/{agentId}/logs?follow=true&attempt=1");
        Assert.Contains("data: first-line\n", replay);
        Assert.EndsWith("event: end\ndata: completed\n\n", replay);
    }

    [Fact]
    public async Task Lines_in_which_an_agent_printed_a_secret_are_hidden_from_the_log_plain_and_followed()
    {
        var token = Secrets.FakeSecrets.GitHubClassic($"log-{Guid.NewGuid():N}");
        var encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{{\"token\": \"{token}\"}}"));
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
            $"echo before; echo 'export GITHUB_TOKEN={token}'; echo 'config: {encoded}'; printf 'after\\r\\n'; echo added > added.txt");
        var agentId = await host.SpawnAsync("output-redacted");

        var followed = await host.Client.GetStringAsync($"/agents/{agentId}/logs?follow=true");
        var plain = await host.Client.GetStringAsync($"/agents/{agentId}/logs");

        Assert.EndsWith("event: end\ndata: completed\n\n", followed);
        foreach (var text in new[] { followed, plain })
        {
            Assert.DoesNotContain(token, text);
            Assert.DoesNotContain(encoded, text);
            Assert.Contains("before", text);
            Assert.Contains("after", text);
        }

        Assert.Equal(
            "before\n[line hidden: secret finding github-pat]\n[line hidden: secret finding github-pat]\nafter\r\n",
            plain);
        Assert.Contains("data: [line hidden: secret finding github-pat]\n", followed);
    }

    [Fact]
    public async Task Unknown_agents_missing_logs_and_bad_parameters_are_problems()
    {
        // No worker: the agent stays queued, with no attempt, no log and no commit.
        await using var host = await TestHost.StartAsync(withoutWorker: true);
        var agentId = await host.SpawnAsync("output-queued");
        const string unknown = "00000000-0000-0000-0000-000000000001";
        var cases = new (string Path, HttpStatusCode Expected)[]
        {
            ($"/agents/{agentId}/logs", HttpStatusCode.NotFound),
            ($"/agents/{agentId}/logs?attempt=2", HttpStatusCode.NotFound),
            ($"/agents/{agentId}/diff", HttpStatusCode.NotFound),
            ($"/agents/{agentId}/logs?attempt=0", HttpStatusCode.BadRequest),
            ($"/agents/{agentId}/logs?attempt=abc", HttpStatusCode.BadRequest),
            ($"/agents/{agentId}/logs?follow=maybe", HttpStatusCode.BadRequest),
            ($"/agents/{unknown}/logs", HttpStatusCode.NotFound),
            ($"/agents/{unknown}/logs?follow=true", HttpStatusCode.NotFound),
            ($"/agents/{unknown}/diff", HttpStatusCode.NotFound),
            ("/agents/not-a-guid/logs", HttpStatusCode.NotFound),
        };
        foreach (var (path, expected) in cases)
        {
            using var response = await host.Client.GetAsync(path);
            Assert.True(expected == response.StatusCode, $"{path}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task A_followed_log_ends_when_the_service_stops()
    {
        var signal = Path.Combine(TempDirectory.Create("signal"), "never");
        var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = SignalledCommand(signal));
        await using (host)
        {
            var agentId = await host.SpawnAsync("output-stop");
            using var response = await host.Client.GetAsync($"/agents/{agentId}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await reader.ReadLineAsync(deadline.Token) is { } line && line != "data: first-line")
            {
            }

            var stopping = host.StopAsync();
            var rest = await reader.ReadToEndAsync(deadline.Token);
            await stopping;
            Assert.Contains(": service stopping", rest);
            Assert.DoesNotContain("event: end", rest);
        }
    }
}
