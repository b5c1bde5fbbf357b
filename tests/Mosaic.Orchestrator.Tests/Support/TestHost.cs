using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Time.Testing;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// The real application on real Kestrel (a free loopback port) with a real SQLite file in its own DATA_DIR.
/// Settings are the service's own names; a FakeTimeProvider can replace the clock.
/// </summary>
public sealed class TestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private TestHost(WebApplication app, string dataDir, EventRecorder events)
    {
        _app = app;
        DataDir = dataDir;
        Events = events;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string DataDir { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public EventRecorder Events { get; }

    public IServiceProvider Services => _app.Services;

    public T Get<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public static Dictionary<string, string?> Defaults(string dataDir) => new()
    {
        ["ORCHESTRATOR_PORT"] = "0",
        ["ORCHESTRATOR_HOST"] = "127.0.0.1",
        ["DATA_DIR"] = dataDir,
        ["AGENT_RUNTIME"] = "command",
        // An agent that changes something, so a worker's run has a commit to push.
        ["AGENT_COMMAND"] = "date +%s%N > agent-output.txt",
        ["ALLOW_LOCAL_REPOSITORIES"] = "true",
        ["QUEUE_POLL_INTERVAL_MS"] = "200",
        ["KILL_GRACE_SECONDS"] = "2",
        ["RATE_LIMIT_WRITES_PER_SECOND"] = "100000",
        ["RATE_LIMIT_WRITES_BURST"] = "100000",
        ["RATE_LIMIT_READS_PER_SECOND"] = "100000",
        ["RATE_LIMIT_READS_BURST"] = "100000",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    public static async Task<TestHost> StartAsync(
        Action<Dictionary<string, string?>>? configure = null,
        TimeProvider? time = null,
        string? dataDir = null,
        bool withoutWorker = false)
    {
        dataDir ??= TempDirectory.Create("host");
        var settings = Defaults(dataDir);
        configure?.Invoke(settings);
        var app = Build(settings, time, withoutWorker);
        var recorder = new EventRecorder(app.Services.GetRequiredService<Mosaic.Orchestrator.Events.EventBroadcaster>());
        await app.StartAsync();
        return new TestHost(app, dataDir, recorder);
    }

    public static WebApplication Build(Dictionary<string, string?> settings, TimeProvider? time = null, bool withoutWorker = false)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(settings);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.AddOrchestrator();
        if (withoutWorker)
        {
            // For tests that play the worker themselves: nothing else leases tasks.
            var worker = builder.Services.Single(d => d.ImplementationType == typeof(Mosaic.Orchestrator.Agents.AgentWorker));
            builder.Services.Remove(worker);
        }

        var app = builder.Build();
        app.MapOrchestrator();
        return app;
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
            Events.Dispose();
            await _app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await StopAsync();
    }

    public static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    public static string SpawnBody(string taskId, int? priority = null, string agentType = "worker", string? repository = null, string branch = "main") =>
        JsonSerializer.Serialize(new
        {
            taskId,
            agentType,
            priority,
            context = new { repository = repository ?? GitRemote.Default.Bare, branch, workItems = new[] { "US-001" }, skills = new[] { "csharp" } },
        }, OrchestratorJson.Options);

    public async Task<Guid> SpawnAsync(string taskId, int? priority = null, string agentType = "worker", string? repository = null, string branch = "main")
    {
        using var response = await Client.PostAsync("/agents/spawn", Json(SpawnBody(taskId, priority, agentType, repository, branch)));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("agentId").GetGuid();
    }

    /// <summary>Where the agent's worktree is (or was): the provider's path rule applied to the stored record.</summary>
    public async Task<string> WorktreeOfAsync(Guid agentId)
    {
        var agent = await Get<Mosaic.Orchestrator.Agents.IAgentStore>().GetAsync(agentId, default) ?? throw new InvalidOperationException("no such agent");
        return ((Mosaic.Orchestrator.Workspaces.GitWorkspaceProvider)Get<Mosaic.Orchestrator.Workspaces.IWorkspaceProvider>()).WorktreeFor(agent);
    }

    public async Task<JsonElement> StatusAsync(Guid agentId)
    {
        using var response = await Client.GetAsync($"/agents/{agentId}/status");
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}

/// <summary>Writes straight into a DATA_DIR's store before a host opens it: a task leased by a worker that then died.</summary>
public static class Seed
{
    public static async Task<Guid> LeasedTaskAsync(string dataDir, string taskId, string leaseOwner, DateTimeOffset now, DateTimeOffset leaseExpires, int maxAttempts = 3)
    {
        await using var database = new Mosaic.Orchestrator.Storage.Embedded.SqliteDatabase(Path.Combine(dataDir, "orchestrator.db"));
        var store = new Mosaic.Orchestrator.Storage.Embedded.EmbeddedAgentStore(database, new Mosaic.Orchestrator.Events.EventBroadcaster());
        var agent = new Mosaic.Orchestrator.Agents.AgentRecord
        {
            AgentId = Guid.NewGuid(),
            TaskId = taskId,
            AgentType = Mosaic.Orchestrator.Agents.AgentType.Worker,
            GateProfile = Mosaic.Orchestrator.Agents.GateProfile.Standard,
            Priority = 5,
            Context = new Mosaic.Orchestrator.Agents.AgentContext(GitRemote.Default.Bare, "main", [], []),
            Status = Mosaic.Orchestrator.Agents.AgentStatus.Spawning,
            TaskState = Mosaic.Orchestrator.Agents.TaskState.Pending,
            SpawnedAt = now,
            MaxAttempts = maxAttempts,
        };
        await store.EnqueueAsync(agent, 100, new Mosaic.Orchestrator.Events.AgentEvent("agent.spawned", agent.AgentId, agent.TaskId, now, null), default);
        var leased = await store.LeaseNextAsync(new Mosaic.Orchestrator.Agents.TaskLease(leaseOwner, "dead-token"), now, leaseExpires, default);
        Assert.Equal(agent.AgentId, leased?.AgentId);
        return agent.AgentId;
    }
}

public static class TempDirectory
{
    // test.sh gives each run a root of its own and removes it after a green run; a run started any other way
    // shares /tmp/mosaic-tests and leaves its folders for inspection.
    private static readonly string Root = Environment.GetEnvironmentVariable("MOSAIC_TEST_TEMP") is { Length: > 0 } root
        ? root
        : Path.Combine(Path.GetTempPath(), "mosaic-tests");

    public static string Create(string prefix)
    {
        var path = Path.Combine(Root, $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(path);
        return path;
    }
}
