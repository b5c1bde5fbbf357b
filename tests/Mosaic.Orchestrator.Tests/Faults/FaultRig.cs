using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Faults;

/// <summary>The service as its own process for the fault suite, driven over HTTP, with what a fault scenario checks afterwards.</summary>
internal sealed class FaultService : IAsyncDisposable
{
    private FaultService(ServiceProcess process, Uri address, string dataDir)
    {
        Process = process;
        DataDir = dataDir;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public ServiceProcess Process { get; }

    public HttpClient Client { get; }

    public string DataDir { get; }

    public static async Task<FaultService> StartAsync(string dataDir, IReadOnlyDictionary<string, string?>? settings = null)
    {
        // The in-process host's defaults, as environment variables of a service process (Logging:X is Logging__X there).
        var environment = TestHost.Defaults(dataDir).ToDictionary(e => e.Key.Replace(":", "__", StringComparison.Ordinal), e => e.Value);
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        var process = ServiceProcess.Start([], environment);
        try
        {
            return new FaultService(process, await process.WaitForListeningAsync(), dataDir);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public async Task<Guid> SpawnAsync(string taskId, string repository)
    {
        using var response = await Client.PostAsync("/agents/spawn", TestHost.Json(TestHost.SpawnBody(taskId, repository: repository)));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("agentId").GetGuid();
    }

    /// <summary>Every agent's record (up to 500).</summary>
    public async Task<List<JsonElement>> AgentsAsync()
    {
        var page = await Client.GetFromJsonAsync<JsonElement>("/agents?limit=500");
        return [.. page.GetProperty("items").EnumerateArray().Select(e => e.Clone())];
    }

    public async Task<HttpStatusCode> ReadinessAsync()
    {
        using var ready = await Client.GetAsync("/health/ready");
        return ready.StatusCode;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!Process.HasExited)
        {
            Process.Terminate();
            try
            {
                await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                // DisposeAsync below kills it
            }
        }

        await Process.DisposeAsync();
    }
}

/// <summary>What is left behind after a scenario: agent processes, worktrees, a service's file descriptors.</summary>
internal static class Leftovers
{
    /// <summary>Live processes that carry the marker of one of <paramref name="agents"/>.</summary>
    public static int Processes(IEnumerable<Guid> agents)
    {
        var ours = agents.ToHashSet();
        return ProcessTable.AgentProcesses().Where(p => ours.Contains(p.Key)).Sum(p => p.Value.Count);
    }

    /// <summary>Worktrees still on disk under DATA_DIR's repository caches.</summary>
    public static int Worktrees(params string[] dataDirs) =>
        dataDirs.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateDirectories(d, "*_worktrees", SearchOption.AllDirectories))
            .Sum(w => Directory.EnumerateDirectories(w).Count());

    /// <summary>Waits (bounded) until no agent process of <paramref name="agents"/> is left; how many are.</summary>
    public static async Task<int> ProcessesAfterAsync(IEnumerable<Guid> agents, TimeSpan within)
    {
        var list = agents.ToList();
        var deadline = DateTime.UtcNow + within;
        while (Processes(list) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        return Processes(list);
    }

    public static async Task<int> WorktreesAfterAsync(TimeSpan within, params string[] dataDirs)
    {
        var deadline = DateTime.UtcNow + within;
        while (Worktrees(dataDirs) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        return Worktrees(dataDirs);
    }

    /// <summary>File descriptors of a service after a scenario against a count taken when it was idle; some slack for pooled sockets.</summary>
    public static async Task<int> DescriptorsGrownAsync(ServiceProcess service, int idle, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (service.OpenFileDescriptors > idle + 8 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        return Math.Max(0, service.OpenFileDescriptors - idle - 8);
    }
}

/// <summary>One row of the fault suite's table.</summary>
internal sealed record FaultRow(string Scenario, string Outcome, int Lost, int RanTwice, int ServerErrors, int LeakedProcesses, int LeakedWorktrees, int LeakedDescriptors, TimeSpan Took)
{
    public bool Clean => Lost == 0 && RanTwice == 0 && ServerErrors == 0 && LeakedProcesses == 0 && LeakedWorktrees == 0 && LeakedDescriptors == 0;

    public string Markdown => string.Create(CultureInfo.InvariantCulture,
        $"| {Scenario} | {Outcome} | {Lost} | {RanTwice} | {ServerErrors} | {LeakedProcesses} / {LeakedWorktrees} / {LeakedDescriptors} | {Took.TotalSeconds:F1} |");
}

/// <summary>
/// Collects the scenarios' rows and prints them as one table when the suite ends: on stdout and into
/// <c>faults-table.md</c> (MOSAIC_FAULTS_TABLE names another file).
/// </summary>
public sealed class FaultTable : IDisposable
{
    private readonly List<FaultRow> _rows = [];

    internal void Add(FaultRow row)
    {
        lock (_rows)
        {
            _rows.Add(row);
        }
    }

    public static string Header =>
        "| scenario | outcome | lost | run twice at once | 5xx | leaked processes / worktrees / fds | seconds |\n|---|---|---|---|---|---|---|";

    public void Dispose()
    {
        string table;
        lock (_rows)
        {
            table = $"{Header}\n{string.Join('\n', _rows.Select(r => r.Markdown))}\n";
        }

        var path = Environment.GetEnvironmentVariable("MOSAIC_FAULTS_TABLE") is { Length: > 0 } named
            ? named
            : Path.Combine(Path.GetTempPath(), "mosaic-faults-table.md");
        File.WriteAllText(path, table);
        Console.WriteLine(table);
    }
}

[CollectionDefinition("Faults")]
public sealed class FaultsCollection : ICollectionFixture<FaultTable>;
