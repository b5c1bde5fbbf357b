using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.ModelGateway;

/// <summary>The model gateway with the real claude CLI against the fake Messages API: the key never reaches the agent.</summary>
public sealed class GatewayTests
{
    [Fact]
    public async Task An_agent_that_looks_everywhere_finds_no_key_and_the_gateway_meters_every_token()
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api);
        var id = await host.SpawnAsync("T-gateway");
        api.Then(
            new FakeReply.ToolUse("Bash", new { command = "env; for f in /proc/*/environ; do tr '\\0' '\\n' < \"$f\"; done 2>/dev/null; echo looked > looked.txt", description = "look around" }),
            new FakeReply.Text("I looked around."));

        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        var requests = api.Requests;
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(api.ApiKey, r.ApiKey));            // the upstream got the real key
        Assert.All(requests, r => Assert.DoesNotContain(api.ApiKey, r.Body.GetRawText())); // and nothing the agent saw had it
        Assert.Contains("ANTHROPIC_API_KEY=mosaic-gw-", string.Join("\n", requests[1].ToolResults));
        // The record's tokens and cost are the gateway's, exactly the fake's usage figures; the CLI's own beside them.
        var run = status.GetProperty("run");
        Assert.True(run.GetProperty("metered").GetBoolean());
        var metered = run.GetProperty("tokens");
        Assert.Equal(2 * api.InputTokensPerMessage, metered.GetProperty("input").GetInt64());
        Assert.Equal(2 * api.OutputTokensPerMessage, metered.GetProperty("output").GetInt64());
        Assert.Equal(2 * 0.0006, run.GetProperty("costUsd").GetDouble(), 9); // claude-sonnet-4-5 at $3 / $15 per million
        Assert.Equal(2 * api.InputTokensPerMessage, run.GetProperty("cliTokens").GetProperty("input").GetInt64());
        Assert.True(run.GetProperty("cliCostUsd").GetDouble() > 0);
    }

    [Fact]
    public async Task A_command_agent_that_speaks_the_messages_api_goes_through_the_gateway_and_is_metered()
    {
        await using var api = await FakeMessagesApi.StartAsync(new FakeReply.Text("hello from the model"));
        await using var host = await TestHost.StartAsync(s =>
        {
            s["CLAUDE_API_KEY"] = api.ApiKey;
            s["ANTHROPIC_BASE_URL"] = api.BaseUrl;
            s["AGENT_COMMAND"] = """
                curl -sS -X POST "$MOSAIC_MODEL_BASE_URL/v1/messages" -H "x-api-key: $MOSAIC_MODEL_API_KEY" \
                  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
                  -d '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}' > answer.txt
                env > "$(dirname "$MOSAIC_PROMPT_FILE")/seen-env.txt"
                """;
        });
        var id = await host.SpawnAsync("T-command-gateway");
        await host.Events.WaitForAsync(id, "agent.cleanup");

        var status = await host.StatusAsync(id);
        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Contains("hello from the model", GitRemote.Default.Show(branch, "answer.txt"));
        var seen = await File.ReadAllTextAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "seen-env.txt"));
        Assert.Contains("MOSAIC_MODEL_API_KEY=mosaic-gw-", seen);
        Assert.DoesNotContain(api.ApiKey, seen);
        Assert.Equal(api.ApiKey, api.Requests.Single().ApiKey);
        var metered = status.GetProperty("run").GetProperty("tokens");
        Assert.Equal((api.InputTokensPerMessage, api.OutputTokensPerMessage), (metered.GetProperty("input").GetInt32(), metered.GetProperty("output").GetInt32()));
        Assert.Equal(0.0006, status.GetProperty("run").GetProperty("costUsd").GetDouble(), 9);
        Assert.Equal(0.0006, status.GetProperty("attemptCostUsd").GetDouble(), 9);
    }

    [Fact]
    public async Task A_streamed_answer_passes_through_as_it_comes_not_when_it_ends()
    {
        await using var api = await FakeMessagesApi.StartAsync(new FakeReply.Stall("the first words"));
        await using var host = await ClaudeCodeRunTests.StartAsync(api);
        var (credential, _) = host.Get<GatewayCredentials>().Issue(Guid.NewGuid(), 1);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent("""{"model":"m","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", credential);
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();

        // The upstream has sent its first events and then says nothing: they must arrive all the same.
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!seen.ToString().Contains("the first words", StringComparison.Ordinal))
        {
            var read = await body.ReadAsync(buffer, deadline.Token);
            Assert.True(read > 0, "the stream ended early");
            seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        Assert.False(api.Stalled.Task.IsFaulted);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("mosaic-gw-made-up")]
    [InlineData("sk-ant-api03-not-a-credential")]
    public async Task A_call_without_a_live_credential_is_refused_in_the_apis_own_shape(string? credential)
    {
        await using var api = await FakeMessagesApi.StartAsync();
        await using var host = await ClaudeCodeRunTests.StartAsync(api);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        if (credential is not null)
        {
            request.Headers.Add("x-api-key", credential);
        }

        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("authentication_error", error.GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(api.Requests);
    }

    [Fact]
    public async Task Without_the_gateway_the_cli_calls_the_api_itself()
    {
        await using var api = await FakeMessagesApi.StartAsync(new FakeReply.Text("{\"approved\": true, \"confidence\": 1, \"findings\": []}"));
        await using var host = await ClaudeCodeRunTests.StartAsync(api, s => s["MODEL_GATEWAY"] = "false");
        var id = await host.SpawnAsync("T-no-gateway", agentType: "reviewer");
        var status = await ClaudeCodeRunTests.EndOfAsync(host, id);
        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal(api.ApiKey, api.Requests.Single().ApiKey);
        Assert.False(status.GetProperty("run").GetProperty("metered").GetBoolean());
        Assert.False(status.GetProperty("run").TryGetProperty("cliTokens", out _));
    }

    [Fact]
    public void The_meter_reads_usage_from_a_stream_cut_anywhere()
    {
        var stream = """
            event: message_start
            data: {"type":"message_start","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":120,"output_tokens":1,"cache_read_input_tokens":30,"cache_creation_input_tokens":7}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"usage is a word"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\nevent: message_delta\ndata: {\"usage\":{\"output_tokens\":999}}"}}

            : a comment line
            event: ping
            data: {"type": "ping"}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"eeee"}}
            e: not a field

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}

            event: message_delta
            data: {"type":"message_delta","delta":{},"usage":{"output_tokens":42}}

            """u8.ToArray();
        foreach (var cut in Enumerable.Range(1, 160).Where(c => c % 3 == 1).Append(stream.Length))
        {
            var meter = new UsageMeter(streamed: true);
            for (var at = 0; at < stream.Length; at += cut)
            {
                meter.Feed(stream.AsSpan(at, Math.Min(cut, stream.Length - at)));
            }

            meter.Complete();
            Assert.Equal(new TokenUsage(120, 42, 30, 7), meter.Tokens);
            Assert.Equal("claude-sonnet-4-5", meter.Model);
        }

        var plain = new UsageMeter(streamed: false);
        plain.Feed("""{"type":"message","usage":{"input_tokens":5,"output_tokens":6}}"""u8);
        plain.Complete();
        Assert.Equal(new TokenUsage(5, 6, 0, 0), plain.Tokens);
    }
}
