using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Agents;

/// <summary>POST /agents/{id}/resume: a stopped task goes on from the work its agent left (real git, real HTTP).</summary>
public sealed class ResumeTests
{
    /// <summary>The first agent of the task writes a.txt and works on until killed; an agent that finds a.txt adds b.txt.</summary>
    private const string TwoStepAgent =
        "if [ -f a.txt ]; then echo b > b.txt; else echo a > a.txt; touch \"$(dirname \"$MOSAIC_PROMPT_FILE\")/ready\"; sleep 60; fi";

    [Fact]
    public async Task A_killed_agent_is_resumed_from_its_wip_and_the_new_agent_completes_with_both_changes()
    {
        var remote = GitRemote.Create("resume");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = TwoStepAgent);
        var first = await host.SpawnAsync("T-resume", repository: remote.Bare);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(host.DataDir, "agents", first.ToString(), "ready")), "the first agent to write its work");
        using (await host.Client.PostAsync($"/agents/{first}/kill", TestHost.Json("""{"reason":"going home"}""")))
        {
        }

        await host.Events.WaitForAsync(first, "agent.cleanup");
        using (var bad = await host.Client.PostAsync($"/agents/{first}/resume", TestHost.Json("""{"instructions":42}""")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("instructions", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(e => e.Name));
        }

        using var response = await host.Client.PostAsync($"/agents/{first}/resume", TestHost.Json("""{"instructions":"Keep a.txt as it is."}"""));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(first, answer.GetProperty("resumedFrom").GetGuid());
        var second = answer.GetProperty("agentId").GetGuid();
        await host.Events.WaitForAsync(second, "agent.cleanup");

        var status = await host.StatusAsync(second);
        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.Equal(first, status.GetProperty("resumedFrom").GetGuid());
        Assert.Equal("T-resume", status.GetProperty("taskId").GetString());
        var branch = status.GetProperty("branch").GetString()!;
        Assert.Equal("a\n", remote.Show(branch, "a.txt"));
        Assert.Equal("b\n", remote.Show(branch, "b.txt"));
        var prompt = await File.ReadAllTextAsync(Path.Combine(host.DataDir, "agents", second.ToString(), "prompt.txt"));
        Assert.Contains($"started by an earlier agent ({first}), which stopped: killed (killed by anonymous: going home)", prompt);
        Assert.Contains("From the operator: Keep a.txt as it is.", prompt);
    }

    [Fact]
    public async Task Resume_is_refused_for_an_unknown_a_completed_a_live_and_a_workless_agent()
    {
        var remote = GitRemote.Create("resume-refused");
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] = "if [ \"$MOSAIC_TASK_ID\" = T-live ]; then sleep 60; elif [ \"$MOSAIC_TASK_ID\" = T-none ]; then exit 3; else echo x > x.txt; fi");
        Assert.Equal(HttpStatusCode.NotFound, await ResumeStatusAsync(host, Guid.NewGuid()));

        var completed = await host.SpawnAsync("T-done", repository: remote.Bare);
        await host.Events.WaitForAsync(completed, "agent.cleanup");
        Assert.Equal(HttpStatusCode.Conflict, await ResumeStatusAsync(host, completed));

        var live = await host.SpawnAsync("T-live", repository: remote.Bare);
        await host.Events.WaitForAsync(live, "agent.running");
        Assert.Equal(HttpStatusCode.Conflict, await ResumeStatusAsync(host, live));

        var workless = await host.SpawnAsync("T-none", repository: remote.Bare);
        await host.Events.WaitForAsync(workless, "agent.cleanup");
        using var refused = await host.Client.PostAsync($"/agents/{workless}/resume", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("left no work on a WIP branch", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        using var badBody = await host.Client.PostAsync($"/agents/{completed}/resume", TestHost.Json("""{"instructions":42}"""));
        Assert.Equal(HttpStatusCode.Conflict, badBody.StatusCode); // the state is judged before the body
    }

    private static async Task<HttpStatusCode> ResumeStatusAsync(TestHost host, Guid agentId)
    {
        using var response = await host.Client.PostAsync($"/agents/{agentId}/resume", null);
        return response.StatusCode;
    }
}
