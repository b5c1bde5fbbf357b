using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Secrets;

/// <summary>The scan in the agent pipeline: an agent that commits a key fails and its branch never leaves.</summary>
public sealed class SecretPipelineTests
{
    [Fact]
    public async Task An_agent_that_commits_a_key_fails_with_secrets_detected_and_nothing_is_pushed()
    {
        var key = FakeSecrets.GitHubClassic("pipeline-leak");
        var remote = GitRemote.Create("secret-leak");
        await using var host = await TestHost.StartAsync(s =>
        {
            // The agent writes the key into config and, cleverly, allowlists every path on its own branch.
            s["AGENT_COMMAND"] = $"mkdir -p .mosaic && printf 'path **\\n' > .mosaic/secrets-allowlist && printf 'github:\\n  token: {key}\\n' > deploy.yml && git add -A && git -c user.name=a -c user.email=a@b commit -qm 'add deploy config'";
        });
        var id = await host.SpawnAsync("T-secret-leak", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));
        var status = await host.StatusAsync(id);

        Assert.True(status.GetProperty("status").GetString() == "failed", status.GetRawText());
        Assert.Equal("secrets-detected", status.GetProperty("reason").GetString());
        Assert.False(status.GetProperty("pushed").GetBoolean());
        Assert.Null(remote.BranchHead(status.GetProperty("branch").GetString()!));
        var finding = Assert.Single(status.GetProperty("secretFindings").EnumerateArray());
        Assert.Equal("github-pat", finding.GetProperty("ruleId").GetString());
        Assert.Equal("deploy.yml", finding.GetProperty("file").GetString());
        Assert.Equal(2, finding.GetProperty("line").GetInt32());
        Assert.Equal(status.GetProperty("headCommit").GetString(), finding.GetProperty("commit").GetString());
        Assert.StartsWith("ghp_", finding.GetProperty("preview").GetString());
        Assert.False(status.TryGetProperty("gates", out _), "no gate runs after a leak");

        var failed = host.Events.For(id).Single(e => e.Type == "agent.failed");
        Assert.Equal("github-pat", failed.Data!.Value.GetProperty("secretFindings")[0].GetProperty("ruleId").GetString());

        // The key itself is nowhere we write: record, events, audit, the service's files other than the agent's own log.
        Assert.DoesNotContain(key, status.GetRawText());
        Assert.All(host.Events.For(id), e => Assert.DoesNotContain(key, System.Text.Json.JsonSerializer.Serialize(e)));
        using var list = await host.Client.GetAsync("/agents?taskId=T-secret-leak");
        Assert.DoesNotContain(key, await list.Content.ReadAsStringAsync());
        // The diff served beside the record hides the line the finding names; the rest of the change is there.
        var diff = await host.Client.GetStringAsync($"/agents/{id}/diff");
        Assert.DoesNotContain(key, diff);
        Assert.Contains("+[line hidden: secret finding github-pat at deploy.yml:2]", diff);
        Assert.Contains("+github:", diff);
    }

    [Fact]
    public async Task A_graft_in_the_shared_cache_cannot_hide_the_commit_that_added_a_key()
    {
        var key = FakeSecrets.GitHubClassic("graft-leak");
        var remote = GitRemote.Create("secret-graft");
        // Commit the key, remove it in a second commit, then graft the head straight onto the base in the cache the
        // worktree shares, so that base..head looks like one harmless commit.
        await using var host = await TestHost.StartAsync(s => s["AGENT_COMMAND"] =
            "base=$(git rev-parse HEAD); c='git -c user.name=a -c user.email=a@b commit -qm'; " +
            $"echo 'token: {key}' > deploy.yml && git add -A && $c leak && echo 'token: from-vault' > deploy.yml && git add -A && $c clean && " +
            "echo \"$(git rev-parse HEAD) $base\" > \"$(git rev-parse --git-common-dir)/info/grafts\"");
        var id = await host.SpawnAsync("T-secret-graft", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));
        var status = await host.StatusAsync(id);

        Assert.True(status.GetProperty("reason").GetString() == "secrets-detected", status.GetRawText());
        Assert.Null(remote.BranchHead(status.GetProperty("branch").GetString()!));
    }

    [Fact]
    public async Task A_clean_change_is_scanned_and_pushed()
    {
        var remote = GitRemote.Create("secret-clean");
        await using var host = await TestHost.StartAsync(s =>
            s["AGENT_COMMAND"] = "printf 'token = os.environ[\"GITHUB_TOKEN\"]\\npassword: ${DB_PASSWORD}\\n' > settings.py");
        var id = await host.SpawnAsync("T-secret-clean", repository: remote.Bare);
        await host.Events.WaitForAsync(id, "agent.cleanup", TimeSpan.FromSeconds(60));
        var status = await host.StatusAsync(id);

        Assert.True(status.GetProperty("status").GetString() == "completed", status.GetRawText());
        Assert.False(status.TryGetProperty("secretFindings", out _));
    }
}
