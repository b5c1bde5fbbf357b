using System.Net;
using System.Text.Json;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Gates;

/// <summary>Gates run here, as the repository declares them at its base, on real commands in real repositories.</summary>
public sealed class LocalGateTests
{
    // The repository's test suite: fails when feature.txt says "broken".
    private const string Check = "if grep -q broken feature.txt 2>/dev/null; then echo 'FAIL: feature is broken' >&2; exit 1; fi; echo 'all tests passed'";

    private static GitRemote RepositoryWithGates(string name, string gatesYaml)
    {
        var remote = GitRemote.Create(name);
        remote.CommitFiles("main", new Dictionary<string, string> { [".mosaic/gates.yml"] = gatesYaml, ["check.sh"] = Check + "\n" }, "declare gates");
        return remote;
    }

    private static string TestsGate(string extra = "") => $"gates:\n  tests:\n    command: sh check.sh\n{extra}";

    private static async Task<JsonElement> EndOfAsync(TestHost host, Guid id)
    {
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));
        return await host.StatusAsync(id);
    }

    private static async Task<Guid> SpawnAsync(TestHost host, string taskId, GitRemote remote, string? gateProfile = null, string[]? gates = null, string agentType = "worker")
    {
        var body = JsonSerializer.Serialize(new
        {
            taskId,
            agentType,
            gateProfile,
            gates,
            context = new { repository = remote.Bare, branch = "main", workItems = new[] { "US-7" } },
        }, Configuration.OrchestratorJson.Options);
        using var response = await host.Client.PostAsync("/agents/spawn", TestHost.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("agentId").GetGuid();
    }

    private static IReadOnlyList<(string Gate, string Status, int Round)> Gates(JsonElement status) =>
        [.. status.GetProperty("gates").EnumerateArray().Select(g => (g.GetProperty("gate").GetString()!, g.GetProperty("status").GetString()!, g.GetProperty("round").GetInt32()))];

    [Fact]
    public async Task A_change_that_breaks_the_tests_fails_with_gate_failed_tests_and_nothing_is_pushed()
    {
        var remote = RepositoryWithGates("gate-break", TestsGate());
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo broken > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await SpawnAsync(host, "T-gate-break", remote);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", status.GetRawText());
        Assert.Equal("gate-failed:tests", status.GetProperty("reason").GetString());
        Assert.False(status.GetProperty("pushed").GetBoolean());
        Assert.Null(remote.BranchHead(status.GetProperty("branch").GetString()!));
        var tests = status.GetProperty("gates").EnumerateArray().Single(g => g.GetProperty("gate").GetString() == "tests");
        Assert.Contains("FAIL: feature is broken", tests.GetProperty("outputTail").GetString());
        Assert.Equal([("typecheck", "not-configured", 0), ("lint", "not-configured", 0), ("tests", "failed", 0)], Gates(status));
        var gateEvent = host.Events.For(id).Last(e => e.Type == "agent.gate");
        Assert.Equal("tests", gateEvent.Data!.Value.GetProperty("gate").GetString());
        Assert.False(gateEvent.Data!.Value.GetProperty("passed").GetBoolean());
    }

    [Fact]
    public async Task A_good_change_passes_its_gates_and_is_pushed()
    {
        var remote = RepositoryWithGates("gate-good", TestsGate());
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo works > feature.txt");
        var id = await SpawnAsync(host, "T-gate-good", remote);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal("works\n", remote.Show($"refs/heads/{status.GetProperty("branch").GetString()}", "feature.txt"));
        Assert.Contains(("tests", "passed", 0), Gates(status));
        Assert.Contains(("coverage", "not-configured", 0), Gates(status));
    }

    [Fact]
    public async Task The_gate_file_on_the_branch_is_ignored_when_it_would_weaken_a_gate()
    {
        // The base declares the tests gate as a command that cannot be edited by the agent (it lives in the gate
        // file itself); the agent's branch replaces it with `true` and breaks the feature: the base's gate fails it.
        var remote = RepositoryWithGates("gate-weaken", $"gates:\n  tests: \"{Check.Replace("\"", "\\\"", StringComparison.Ordinal)}\"\n");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "printf 'gates:\\n  tests: \"true\"\\n' > .mosaic/gates.yml; echo broken > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await SpawnAsync(host, "T-gate-weaken", remote);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "failed", status.GetRawText());
        Assert.Equal("gate-failed:tests", status.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_replace_ref_in_the_shared_cache_cannot_swap_the_base_gate_file()
    {
        var remote = RepositoryWithGates("gate-replace", $"gates:\n  tests: \"{Check.Replace("\"", "\\\"", StringComparison.Ordinal)}\"\n");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "git replace $(git rev-parse HEAD:.mosaic/gates.yml) $(printf 'gates:\\n  tests: \"true\"\\n' | git hash-object -w --stdin); echo broken > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await SpawnAsync(host, "T-gate-replace", remote);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("reason").GetString() == "gate-failed:tests", status.GetRawText());
    }

    [Fact]
    public async Task The_fix_loop_sends_the_agent_back_with_the_gate_output_and_a_fixed_run_passes()
    {
        var remote = RepositoryWithGates("gate-fix", TestsGate());
        // First run: a broken feature. Second run (told what failed): the fix. State lives outside the worktree.
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
            "d=$(dirname \"$MOSAIC_PROMPT_FILE\"); if [ -f \"$d/ran\" ]; then cp \"$MOSAIC_PROMPT_FILE\" \"$d/fix-prompt.txt\"; echo fixed > feature.txt; else touch \"$d/ran\"; echo broken > feature.txt; fi");
        var id = await SpawnAsync(host, "T-gate-fix", remote);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal("fixed\n", remote.Show($"refs/heads/{status.GetProperty("branch").GetString()}", "feature.txt"));
        Assert.Contains(("tests", "failed", 0), Gates(status));
        Assert.Contains(("tests", "passed", 1), Gates(status));
        var fixPrompt = await File.ReadAllTextAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "fix-prompt.txt"));
        Assert.Contains("quality gate \"tests\"", fixPrompt);
        Assert.Contains("- US-7", fixPrompt); // the task itself comes again with the gate's complaint
        Assert.Contains("FAIL: feature is broken", fixPrompt);
    }

    [Fact]
    public async Task A_fix_loop_that_never_fixes_gives_up_after_the_configured_runs()
    {
        var remote = RepositoryWithGates("gate-nofix", TestsGate());
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo \"broken $(date +%s%N)\" > feature.txt; echo run >> \"$(dirname \"$MOSAIC_PROMPT_FILE\")/runs.txt\"";
            s["GATE_FIX_ATTEMPTS"] = "2";
        });
        var id = await SpawnAsync(host, "T-gate-nofix", remote);

        var status = await EndOfAsync(host, id);

        Assert.Equal("gate-failed:tests", status.GetProperty("reason").GetString());
        Assert.Contains("after 2 fix run(s)", status.GetProperty("error").GetString());
        Assert.Equal(3, (await File.ReadAllLinesAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "runs.txt"))).Length);
    }

    [Theory]
    [InlineData("0.80", "failed", "line coverage 80% is below 85%")]
    [InlineData("0.90", "passed", "line coverage 90% (threshold 85%)")]
    public async Task Coverage_reads_the_cobertura_report_and_compares_it_with_the_threshold(string rate, string expected, string message)
    {
        var remote = RepositoryWithGates($"gate-cov-{rate}",
            $"gates:\n  coverage:\n    command: \"printf '<?xml version=\\\"1.0\\\"?><coverage line-rate=\\\"{rate}\\\" branch-rate=\\\"0\\\"></coverage>' > coverage.xml\"\n    report: coverage.xml\n");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo works > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await SpawnAsync(host, $"T-cov-{rate}", remote, gates: ["coverage"]);

        var status = await EndOfAsync(host, id);

        var coverage = Assert.Single(status.GetProperty("gates").EnumerateArray());
        Assert.Equal(expected, coverage.GetProperty("status").GetString());
        Assert.Equal(message, coverage.GetProperty("message").GetString());
        Assert.Equal(double.Parse(rate, System.Globalization.CultureInfo.InvariantCulture) * 100, coverage.GetProperty("coveragePercent").GetDouble(), 3);
        Assert.Equal(expected == "passed" ? "completed" : "failed", status.GetProperty("status").GetString());
        Assert.Equal("custom", status.GetProperty("gateProfile").GetString());
    }

    [Theory]
    [InlineData("fifo", "mkfifo coverage.xml")]
    [InlineData("stale", "printf '<coverage line-rate=\\\"1.0\\\"/>' > coverage.xml")]
    [InlineData("link", "printf '<coverage line-rate=\\\"1.0\\\"/>' > {outside}/coverage.xml && ln -s {outside} reports")]
    public async Task A_coverage_report_the_command_did_not_write_is_not_believed(string kind, string plant)
    {
        // The gate's command writes nothing; the agent left a FIFO (reading it would block forever), a committed
        // report claiming 100%, or a folder link pointing outside the worktree.
        var report = kind == "link" ? "reports/coverage.xml" : "coverage.xml";
        var remote = RepositoryWithGates($"gate-cov-{kind}", $"gates:\n  coverage: {{ command: \"true\", report: {report} }}\n");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = plant.Replace("{outside}", TempDirectory.Create("coverage-outside"), StringComparison.Ordinal) + "; echo works > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await SpawnAsync(host, $"T-cov-{kind}", remote, gates: ["coverage"]);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("reason").GetString() == "gate-failed:coverage", status.GetRawText());
        Assert.Contains("no readable coverage report", status.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_gate_that_runs_too_long_is_ended_and_fails()
    {
        var remote = RepositoryWithGates("gate-slow", "gates:\n  tests:\n    command: \"echo started > ../gate-started-$MOSAIC_AGENT_ID; sleep 60\"\n    timeout: 1\n");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo works > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await SpawnAsync(host, "T-gate-slow", remote, gateProfile: "minimal");

        var status = await EndOfAsync(host, id);

        Assert.Equal("gate-failed:tests", status.GetProperty("reason").GetString());
        Assert.Contains("timed out after 1 s", status.GetProperty("error").GetString());
        Assert.False(ProcessTable.AgentProcesses().ContainsKey(id), "the gate's processes are gone");
    }

    [Fact]
    public async Task Yolo_mode_skips_every_gate_and_audits_it()
    {
        var remote = RepositoryWithGates("gate-yolo", TestsGate());
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo broken > feature.txt";
            s["YOLO_MODE"] = "true";
        });
        var id = await SpawnAsync(host, "T-gate-yolo", remote);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.True(status.GetProperty("pushed").GetBoolean());
        Assert.All(Gates(status), g => Assert.Equal("skipped", g.Status));
        var audit = await File.ReadAllTextAsync(Path.Combine(host.DataDir, "audit.jsonl"));
        Assert.Contains("gates-skipped", audit);
        Assert.Contains(id.ToString(), audit);
    }

    [Fact]
    public async Task Under_strict_a_gate_with_no_command_fails_and_elsewhere_it_passes()
    {
        var remote = GitRemote.Create("gate-strict");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "echo change > feature.txt";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var strict = await SpawnAsync(host, "T-strict", remote, gateProfile: "strict");
        var standard = await SpawnAsync(host, "T-standard", remote, gateProfile: "standard");

        var failed = await EndOfAsync(host, strict);
        var passed = await EndOfAsync(host, standard);

        Assert.Equal("gate-failed:typecheck", failed.GetProperty("reason").GetString());
        Assert.Contains("strict profile requires every gate", failed.GetProperty("error").GetString());
        Assert.Equal("completed", passed.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_broken_gate_file_fails_the_run_without_fix_runs()
    {
        var remote = RepositoryWithGates("gate-badfile", "gates:\n  tests: [not, a, command]\n");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "echo x > feature.txt; echo run >> \"$(dirname \"$MOSAIC_PROMPT_FILE\")/runs.txt\"");
        var id = await SpawnAsync(host, "T-gate-badfile", remote);

        var status = await EndOfAsync(host, id);

        Assert.Equal("gate-failed:config", status.GetProperty("reason").GetString());
        Assert.Contains(".mosaic/gates.yml", status.GetProperty("error").GetString());
        Assert.Single(await File.ReadAllLinesAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "runs.txt")));
    }

    [Fact]
    public async Task Gates_that_run_no_command_do_not_read_the_gate_file()
    {
        // Only the AI review is asked for: the broken file declares commands nobody runs, so it cannot fail the run.
        var remote = RepositoryWithGates("gate-badfile-unused", "gates:\n  tests: [not, a, command]\n");
        await using var host = await TestHost.StartAsync(s =>
            s["AGENT_COMMAND"] = "if [ \"$MOSAIC_AGENT_TYPE\" = reviewer ]; then echo '{\"approved\": true, \"confidence\": 0.9}'; else echo change > feature.txt; fi");
        var id = await SpawnAsync(host, "T-gate-badfile-unused", remote, gates: ["ai-review"]);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal([("ai-review", "passed", 0)], Gates(status));
    }

    [Theory]
    [InlineData("0.95", "completed")]
    [InlineData("0.5", "failed")]
    public async Task The_ai_review_asks_the_runtime_as_a_reviewer_and_needs_approval_with_confidence(string confidence, string expected)
    {
        var remote = GitRemote.Create($"gate-review-{confidence}");
        await using var host = await TestHost.StartAsync(s =>
        {
            s["AGENT_COMMAND"] = "if [ \"$MOSAIC_AGENT_TYPE\" = reviewer ]; then echo 'Reviewed.'; echo '{\"approved\": true, \"confidence\": " + confidence + ", \"findings\": [\"naming\"]}'; else echo change > feature.txt; fi";
            s["GATE_FIX_ATTEMPTS"] = "0";
        });
        var id = await SpawnAsync(host, $"T-review-{confidence}", remote, gates: ["ai-review"]);

        var status = await EndOfAsync(host, id);

        Assert.True(status.GetProperty("status").GetString() == expected, status.GetRawText());
        var review = Assert.Single(status.GetProperty("gates").EnumerateArray());
        Assert.Equal("ai-review", review.GetProperty("gate").GetString());
        if (expected == "failed")
        {
            Assert.Equal("gate-failed:ai-review", status.GetProperty("reason").GetString());
            Assert.Contains("naming", review.GetProperty("outputTail").GetString());
        }
    }

    [Fact]
    public async Task A_review_that_could_not_run_for_a_passing_reason_retries_the_attempt_instead_of_a_fix_run()
    {
        var remote = GitRemote.Create("gate-review-transient");
        await using var host = await TestHost.StartAsync(s =>
        {
            // The reviewer's run fails transiently (exit 75, as for an overloaded model API).
            s["AGENT_COMMAND"] = "if [ \"$MOSAIC_AGENT_TYPE\" = reviewer ]; then exit 75; else echo change > feature.txt; echo run >> \"$(dirname \"$MOSAIC_PROMPT_FILE\")/runs.txt\"; fi";
            s["TASK_MAX_ATTEMPTS"] = "2";
            s["RETRY_BASE_DELAY_SECONDS"] = "0.1";
        });
        var id = await SpawnAsync(host, "T-review-transient", remote, gates: ["ai-review"]);

        var status = await EndOfAsync(host, id);

        Assert.Equal("attempts-exhausted", status.GetProperty("reason").GetString());
        Assert.Contains("gate-unavailable:ai-review", status.GetProperty("error").GetString());
        Assert.Equal(2, status.GetProperty("attempt").GetInt32());
        // Two attempts, each with one worker run: no fix runs were spent on an outage.
        Assert.Equal(2, (await File.ReadAllLinesAsync(Path.Combine(host.DataDir, "agents", id.ToString(), "runs.txt"))).Length);
    }

    [Fact]
    public async Task Unknown_gates_in_a_spawn_request_are_named_in_the_400()
    {
        await using var host = await TestHost.StartAsync();
        using var unknown = await host.Client.PostAsync("/agents/spawn", TestHost.Json(
            """{"taskId":"T-g1","agentType":"worker","gates":["tests","fuzz"],"context":{"repository":"https://example.com/r.git","branch":"main"}}"""));
        using var mixed = await host.Client.PostAsync("/agents/spawn", TestHost.Json(
            """{"taskId":"T-g2","agentType":"worker","gateProfile":"strict","gates":["tests"],"context":{"repository":"https://example.com/r.git","branch":"main"}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("unknown gates: fuzz", await unknown.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        Assert.Contains("only goes with gateProfile custom", await mixed.Content.ReadAsStringAsync());
    }
}
