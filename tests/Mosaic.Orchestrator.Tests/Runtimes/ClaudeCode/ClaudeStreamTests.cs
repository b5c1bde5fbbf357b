using System.Text;
using Microsoft.Extensions.Time.Testing;
using Mosaic.Orchestrator.Runtimes;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;

namespace Mosaic.Orchestrator.Tests.Runtimes.ClaudeCode;

/// <summary>Reading the stream-json lines (shapes as the CLI 2.1.332 writes them) and classifying how a run ended.</summary>
public sealed class ClaudeStreamTests
{
    private static ClaudeStream Read(params string[] lines)
    {
        var stream = new ClaudeStream(new FakeTimeProvider());
        foreach (var line in lines)
        {
            stream.Accept(Encoding.UTF8.GetBytes(line));
        }

        return stream;
    }

    private const string Init = """{"type":"system","subtype":"init","cwd":"/w","session_id":"sess-1","tools":["Read"],"model":"claude-sonnet-4-5"}""";

    private static string Assistant(string id, int input, int output, string content) =>
        $$$"""{"type":"assistant","message":{"id":"{{{id}}}","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{{content}}}],"usage":{"input_tokens":{{{input}}},"output_tokens":{{{output}}},"cache_read_input_tokens":7,"cache_creation_input_tokens":3}},"session_id":"sess-1"}""";

    [Fact]
    public void Usage_is_counted_once_per_message_id_and_tool_calls_are_counted()
    {
        var stream = Read(
            Init,
            Assistant("msg_1", 100, 5, """{"type":"text","text":"Let me look."}"""),
            Assistant("msg_1", 100, 9, """{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"/w/a"}}"""),
            """{"type":"user","message":{"role":"user","content":[{"tool_use_id":"t1","type":"tool_result","content":"a"}]}}""",
            Assistant("msg_2", 200, 4, """{"type":"text","text":"Done."}"""));

        var report = stream.Snapshot(attempt: 1);

        Assert.Equal("sess-1", report.SessionId);
        Assert.Equal("claude-sonnet-4-5", report.Model);
        Assert.Equal(2, report.Turns);
        Assert.Equal(1, report.ToolCalls);
        Assert.Equal(new Mosaic.Orchestrator.Agents.TokenUsage(300, 13, 14, 6), report.Tokens);
        Assert.Null(stream.Result);
        Assert.Null(report.CostUsd);
    }

    [Fact]
    public void The_result_line_is_authoritative_for_turns_cost_tokens_and_denials()
    {
        var stream = Read(
            Init,
            Assistant("msg_1", 100, 1, """{"type":"text","text":"Done."}"""),
            """{"duration_ms":1234,"duration_api_ms":900,"session_id":"sess-1","total_cost_usd":0.0123,"usage":{"input_tokens":250,"output_tokens":40,"cache_read_input_tokens":0,"cache_creation_input_tokens":0},"permission_denials":[{"tool_name":"Bash","tool_use_id":"t9","tool_input":{"command":"rm -rf /"}}],"terminal_reason":"completed","is_error":false,"num_turns":3,"subtype":"success","api_error_status":null,"result":"All done.","type":"result"}""");

        var report = stream.Snapshot(attempt: 2);

        Assert.Equal(2, report.Attempt);
        Assert.Equal(3, report.Turns);
        Assert.Equal(0.0123, report.CostUsd);
        Assert.Equal(1234, report.DurationMs);
        Assert.Equal(900, report.ApiDurationMs);
        Assert.Equal(new Mosaic.Orchestrator.Agents.TokenUsage(250, 40, 0, 0), report.Tokens);
        Assert.Equal("All done.", report.Result);
        Assert.Equal("completed", report.TerminalReason);
        var denial = Assert.Single(report.PermissionDenials!);
        Assert.Equal(new Mosaic.Orchestrator.Agents.PermissionDenial("Bash", "t9"), denial);
        Assert.NotNull(stream.ResultAt);
        Assert.True(stream.Result!.Succeeded);
    }

    [Fact]
    public void Unknown_types_torn_lines_and_noise_are_skipped()
    {
        var stream = Read(
            "not json at all",
            """{"type":"stream_event","event":{"type":"content_block_delta"}}""",
            """{"type":"assistant","message":""",
            "[1,2,3]",
            """{"no_type":true}""",
            "",
            Init);

        Assert.Equal("sess-1", stream.Snapshot(1).SessionId);
        Assert.Equal(1, stream.Changes);
    }

    [Fact]
    public void A_very_long_result_keeps_its_end_where_a_verdict_is()
    {
        var text = new string('x', ClaudeStream.MaxResultChars + 500) + "verdict at the end";
        var stream = Read($$"""{"type":"result","subtype":"success","is_error":false,"result":"{{text}}"}""");
        Assert.Equal(ClaudeStream.MaxResultChars + "[truncated] ".Length, stream.Result!.Text!.Length);
        Assert.EndsWith("verdict at the end", stream.Result.Text);
    }

    [Fact]
    public void Lines_that_make_readers_throw_or_overflow_are_survived()
    {
        var stream = Read(
            """{"type":"system","subtype":"init","session_id":"\ud83d","model":"m"}""",
            """{"type":"result","subtype":"success","is_error":false,"total_cost_usd":1e400,"num_turns":1}""");
        Assert.Null(stream.Result!.TotalCostUsd);
        Assert.Equal(1, stream.Result.NumTurns);
        _ = System.Text.Json.JsonSerializer.Serialize(stream.Snapshot(1));
    }

    private static ClaudeResult ResultOf(string json) => Read(json).Result!;

    private const string Succeeded = "succeeded", Failed = "failed", Transient = "transient";

    private static string OutcomeOf(RuntimeResult result) => result.Failure switch
    {
        null => Succeeded,
        { Transient: true } => Transient,
        _ => Failed,
    };

    [Fact]
    public void An_error_flag_fails_the_run_even_when_the_subtype_says_success_and_the_exit_code_is_zero()
    {
        var result = ResultOf("""{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"result":"something broke"}""");
        var outcome = ClaudeOutcome.Classify(result, exitCode: 0, Watchdog.None, null, TimeSpan.FromMinutes(10));
        Assert.Equal(Failed, OutcomeOf(outcome));
        Assert.Equal("runtime-failed", outcome.Failure?.Code);
        Assert.Contains("something broke", outcome.Failure?.Message);
    }

    [Theory]
    [InlineData(429, Transient, "model-api-unavailable")]
    [InlineData(529, Transient, "model-api-unavailable")]
    [InlineData(503, Transient, "model-api-unavailable")]
    [InlineData(401, Failed, "model-api-auth")]
    [InlineData(403, Failed, "model-api-auth")]
    [InlineData(400, Failed, "model-api-error")]
    public void Api_errors_are_classified_by_status(int status, string expected, string reason)
    {
        var result = ResultOf($$"""{"type":"result","subtype":"success","is_error":true,"api_error_status":{{status}},"result":"API Error: {{status}}"}""");
        var outcome = ClaudeOutcome.Classify(result, exitCode: 1, Watchdog.None, null, TimeSpan.FromMinutes(10));
        Assert.Equal(expected, OutcomeOf(outcome));
        Assert.Equal(reason, outcome.Failure?.Code);
    }

    [Theory]
    [InlineData("error_max_turns", "max-turns")]
    [InlineData("error_max_budget_usd", "max-budget")]
    [InlineData("error_during_execution", "runtime-failed")]
    public void Limits_and_execution_errors_are_permanent_failures(string subtype, string reason)
    {
        var result = ResultOf($$"""{"type":"result","subtype":"{{subtype}}","is_error":true,"num_turns":5,"total_cost_usd":1.25}""");
        var outcome = ClaudeOutcome.Classify(result, exitCode: 0, Watchdog.None, null, TimeSpan.FromMinutes(10));
        Assert.Equal(Failed, OutcomeOf(outcome));
        Assert.Equal(reason, outcome.Failure?.Code);
    }

    [Fact]
    public void No_result_line_is_a_failure_whatever_the_exit_code()
    {
        var clean = ClaudeOutcome.Classify(null, 0, Watchdog.None, null, TimeSpan.FromMinutes(10));
        Assert.Equal(("no-result", Failed), (clean.Failure?.Code, OutcomeOf(clean)));

        var crashed = ClaudeOutcome.Classify(null, 2, Watchdog.None, "Error: unknown option '--bogus'", TimeSpan.FromMinutes(10));
        Assert.Equal(("runtime-failed", Failed), (crashed.Failure?.Code, OutcomeOf(crashed)));
        Assert.Contains("unknown option", crashed.Failure?.Message);
    }

    [Fact]
    public void Success_with_a_bad_exit_code_fails_unless_the_watchdog_ended_a_lingering_process()
    {
        var result = ResultOf("""{"type":"result","subtype":"success","is_error":false,"result":"ok"}""");
        Assert.Equal(Failed, OutcomeOf(ClaudeOutcome.Classify(result, 3, Watchdog.None, null, TimeSpan.FromMinutes(1))));
        var lingered = ClaudeOutcome.Classify(result, 143, Watchdog.AfterResult, null, TimeSpan.FromMinutes(1));
        Assert.Equal((Succeeded, 0), (OutcomeOf(lingered), lingered.ExitCode));
        Assert.Equal(Succeeded, OutcomeOf(ClaudeOutcome.Classify(result, 0, Watchdog.None, null, TimeSpan.FromMinutes(1))));
    }

    [Fact]
    public void A_stall_is_transient()
    {
        var outcome = ClaudeOutcome.Classify(null, 137, Watchdog.Idle, null, TimeSpan.FromSeconds(90));
        Assert.Equal((Transient, "agent-stalled"), (OutcomeOf(outcome), outcome.Failure?.Code));
        Assert.Contains("90 s", outcome.Failure?.Message);
    }
}
