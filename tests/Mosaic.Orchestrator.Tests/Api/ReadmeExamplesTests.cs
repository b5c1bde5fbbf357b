using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Api;

/// <summary>The README's HTTP examples, pasted into bash as a reader would, against a real service.</summary>
public sealed class ReadmeExamplesTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("readme-key")]
    public async Task The_readme_spawn_example_pastes_into_bash_and_spawns(string? apiKey)
    {
        await using var host = await TestHost.StartAsync(s => s["ORCHESTRATOR_API_KEY"] = apiKey, withoutWorker: true);
        var (setup, spawn) = ReadmeSpawnExample();

        var script = $"set -eu\n{setup}\nB={host.BaseAddress.ToString().TrimEnd('/')}\n{spawn} -s\n";
        var (exit, output, error) = await BashAsync(script, apiKey);

        Assert.True(exit == 0, $"exit {exit}: {error}");
        var answer = JsonDocument.Parse(output).RootElement;
        Assert.Equal("spawning", answer.GetProperty("status").GetString());
        var id = answer.GetProperty("agentId").GetGuid();
        using var status = new HttpRequestMessage(HttpMethod.Get, $"/agents/{id}/status");
        if (apiKey is not null)
        {
            status.Headers.Add("X-API-Key", apiKey);
        }

        using var response = await host.Client.SendAsync(status);
        var record = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("T-42", "standard", 7), (record.GetProperty("taskId").GetString(), record.GetProperty("gateProfile").GetString(), record.GetProperty("priority").GetInt32()));
    }

    /// <summary>The line that sets B and K, and the spawn command (from its `curl` to the closing quote of its body).</summary>
    private static (string Setup, string Spawn) ReadmeSpawnExample()
    {
        var lines = File.ReadAllLines(Checkout.File("README.md"));
        var setup = lines.Single(l => l.StartsWith("B=http://127.0.0.1:3001;", StringComparison.Ordinal));
        var start = Array.FindIndex(lines, l => l.StartsWith("curl ", StringComparison.Ordinal) && l.Contains("$B/agents/spawn -d '{", StringComparison.Ordinal));
        var end = Array.FindIndex(lines, start, l => l.EndsWith("}'", StringComparison.Ordinal));
        Assert.True(start >= 0 && end >= start, "the README has no spawn example");
        return (setup, string.Join('\n', lines[start..(end + 1)]));
    }

    private static async Task<(int Exit, string Output, string Error)> BashAsync(string script, string? apiKey)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment.Remove("ORCHESTRATOR_API_KEY");
        if (apiKey is not null)
        {
            start.Environment["ORCHESTRATOR_API_KEY"] = apiKey;
        }

        using var bash = Process.Start(start)!;
        await bash.StandardInput.WriteAsync(script);
        bash.StandardInput.Close();
        var output = bash.StandardOutput.ReadToEndAsync();
        var error = bash.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bash.WaitForExitAsync(deadline.Token);
        return (bash.ExitCode, await output, await error);
    }
}
