using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Mosaic.Orchestrator.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Mosaic.Orchestrator.Tests.Dashboard;

/// <summary>
/// The dashboard in real Chromium against the real service (TestHost: Kestrel on loopback, SQLite, git) running real
/// agents of the command runtime. Each test saves screenshots of what it saw: into docs/screenshots/ (linked from the
/// README) when MOSAIC_UPDATE_SCREENSHOTS=1, otherwise into a folder of the run, so a test run leaves the checkout clean.
/// </summary>
public sealed class DashboardTests(Chromium chromium) : IClassFixture<Chromium>
{
    private static readonly TimeSpan AgentDeadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A token the leak-* agents commit: made here at run time, so no secret sits in the source. Real-shaped: its CRC32
    /// suffix holds, or the scan takes it for a made-up token.
    /// </summary>
    private static readonly string Leaked = Secrets.FakeSecrets.GitHubClassic($"dashboard-{Guid.NewGuid():N}");

    private static readonly string Screenshots = Environment.GetEnvironmentVariable("MOSAIC_UPDATE_SCREENSHOTS") == "1"
        ? Checkout.File("docs", "screenshots")
        : TempDirectory.Create("screenshots");

    /// <summary>
    /// Agents chosen by task id: slow-* print "started" and wait for a signal file named after the task; fail-* change
    /// nothing (a worker then fails with no-changes); leak-* commit a token (the secret scan then fails them); every agent
    /// prints hostile markup and writes some into its diff.
    /// </summary>
    private static Task<TestHost> StartHostAsync(string signals, string? apiKey = null)
    {
        var script = Path.Combine(signals, "agent.sh");
        File.WriteAllText(script,
            "case \"$MOSAIC_TASK_ID\" in\n" +
            "  fail-*) echo nothing-to-do; exit 0;;\n" +
            $"  leak-*) printf 'token = %s\\n' '{Leaked}' > settings.txt;;\n" +
            $"  slow-*) echo started; while [ ! -f '{signals}'/\"$MOSAIC_TASK_ID\" ]; do sleep 0.05; done;;\n" +
            "esac\n" +
            "echo \"working on $MOSAIC_TASK_ID\"\n" +
            "echo '<img src=x id=pwned onerror=\"window.pwned=1\">'\n" +
            "printf '%s\\n' '<b id=\"diffpwned\">hostile</b>' > hostile.html\n" +
            "date +%s%N > agent-output.txt\n");
        return TestHost.StartAsync(s =>
        {
            s["TASK_MAX_ATTEMPTS"] = "1";
            s["AGENT_COMMAND"] = $"sh '{script}'";
            if (apiKey is not null)
            {
                s["ORCHESTRATOR_API_KEY"] = apiKey;
            }
        });
    }

    [ChromiumFact]
    public async Task Spawn_from_the_form_then_watch_it_complete_live_and_read_its_log_and_diff()
    {
        var signals = TempDirectory.Create("signals");
        await using var host = await StartHostAsync(signals);
        await using var browser = await OpenAsync(host);
        var page = browser.Page;

        await page.GotoAsync(host.BaseAddress.ToString());
        await Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        // Set once: a reload would lose it, so it still being there at the end proves the page never reloaded.
        await page.EvaluateAsync("() => { window.sameDocument = true; }");

        await page.ClickAsync("#nav-spawn");
        await page.FillAsync("#spawn-taskId", "slow-form-1");
        await page.FillAsync("#spawn-priority", "7");
        await page.FillAsync("#spawn-context-repository", GitRemote.Default.Bare);
        await page.FillAsync("#spawn-context-workItems", "US-001: add a file\nUS-002: and another");
        await page.ClickAsync("#spawn-submit");

        var row = page.Locator("#agents-table tbody tr", new() { HasText = "slow-form-1" });
        await Expect(row).ToHaveAttributeAsync("data-status", "running", new() { Timeout = (float)AgentDeadline.TotalMilliseconds });
        await Expect(row.Locator("td[data-label=Priority]")).ToHaveTextAsync("7");
        await Expect(page.Locator("#notice")).ToContainTextAsync("queued for task slow-form-1");
        await File.WriteAllTextAsync(Path.Combine(signals, "slow-form-1"), "go");
        await Expect(row).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = (float)AgentDeadline.TotalMilliseconds });
        await Expect(page.Locator("[data-stat=completed] .stat-value")).ToHaveTextAsync("1");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "agents.png") });

        var agentId = await row.GetAttributeAsync("data-agent-id");
        var record = await host.StatusAsync(Guid.Parse(agentId!));
        Assert.Equal("completed", record.GetProperty("status").GetString());
        Assert.Equal(["US-001: add a file", "US-002: and another"], record.GetProperty("context").GetProperty("workItems").EnumerateArray().Select(w => w.GetString()));

        await row.Locator("a").ClickAsync();
        await Expect(page.Locator("#agent-log")).ToContainTextAsync("working on slow-form-1");
        await Expect(page.Locator("#log-state")).ToHaveTextAsync("ended: completed");
        await Expect(page.Locator("#agent-diff")).ToContainTextAsync("+++ b/agent-output.txt");
        await Expect(page.Locator("#agent-summary [data-field=status]")).ToHaveTextAsync("completed");
        await Expect(page.Locator("#kill-agent")).ToBeHiddenAsync();

        // What the agent printed is shown as text, never run or parsed as markup.
        await Expect(page.Locator("#agent-log")).ToContainTextAsync("<img src=x id=pwned onerror=\"window.pwned=1\">");
        await Expect(page.Locator("#agent-diff")).ToContainTextAsync("+<b id=\"diffpwned\">hostile</b>");
        Assert.Equal(0, await page.Locator("#pwned, #diffpwned").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => window.pwned === undefined && window.sameDocument === true"));
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "agent.png"), FullPage = true });
        browser.AssertNoPageErrors();
    }

    [ChromiumFact]
    public async Task Kill_a_running_agent_from_its_page_only_after_confirming()
    {
        var signals = TempDirectory.Create("signals");
        await using var host = await StartHostAsync(signals);
        var agentId = await host.SpawnAsync("slow-kill-1");
        await using var browser = await OpenAsync(host);
        var page = browser.Page;

        await page.GotoAsync($"{host.BaseAddress}#/agents/{agentId}");
        await Expect(page.Locator(".view-head .status")).ToHaveTextAsync("running", new() { Timeout = (float)AgentDeadline.TotalMilliseconds });
        await Expect(page.Locator("#agent-log")).ToContainTextAsync("started");

        await page.ClickAsync("#kill-agent");
        await Expect(page.Locator("#confirm-dialog")).ToBeVisibleAsync();
        await page.ClickAsync("#confirm-cancel");
        await Expect(page.Locator("#confirm-dialog")).ToBeHiddenAsync();
        Assert.Equal("running", (await host.StatusAsync(agentId)).GetProperty("status").GetString());

        await page.ClickAsync("#kill-agent");
        await Expect(page.Locator("#confirm-text")).ToContainTextAsync("slow-kill-1");
        await page.FillAsync("#confirm-reason", "stopped from the dashboard");
        await page.ClickAsync("#confirm-ok");
        await Expect(page.Locator(".view-head .status")).ToHaveTextAsync("killed", new() { Timeout = (float)AgentDeadline.TotalMilliseconds });
        await Expect(page.Locator("#notice")).ToContainTextAsync("killed successfully");
        await Expect(page.Locator("#kill-agent")).ToBeHiddenAsync();
        await Expect(page.Locator("#log-state")).ToHaveTextAsync("ended: killed");
        Assert.Equal("killed", (await host.StatusAsync(agentId)).GetProperty("status").GetString());

        using var audit = JsonDocument.Parse(await host.Client.GetStringAsync("/agents/audit"));
        Assert.Contains(audit.RootElement.GetProperty("items").EnumerateArray(), e => e.GetRawText().Contains("stopped from the dashboard", StringComparison.Ordinal));
        browser.AssertNoPageErrors();
    }

    [ChromiumFact]
    public async Task A_validation_error_is_shown_under_the_field_it_names_and_nothing_is_queued()
    {
        await using var host = await StartHostAsync(TempDirectory.Create("signals"));
        await using var browser = await OpenAsync(host);
        var page = browser.Page;

        await page.GotoAsync($"{host.BaseAddress}#/spawn");
        await page.FillAsync("#spawn-taskId", "not a task id!");
        await page.FillAsync("#spawn-priority", "11");
        await page.FillAsync("#spawn-context-repository", GitRemote.Default.Bare);
        await page.ClickAsync("#spawn-submit");

        await Expect(page.Locator("[data-error-for=taskId]")).ToHaveTextAsync("must be 1-128 characters of A-Z a-z 0-9 . _ -");
        await Expect(page.Locator("[data-error-for=priority]")).ToHaveTextAsync("must be an integer from 1 to 10");
        await Expect(page.Locator("#spawn-taskId")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#spawn-error")).ToContainTextAsync("2 invalid field(s)");
        await Expect(page.Locator("[data-error-for='context.repository']")).ToBeEmptyAsync();
        await Expect(page.Locator("#spawn-context-repository")).Not.ToHaveAttributeAsync("aria-invalid", "true");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "spawn-error.png"), FullPage = true });

        // A field the form lays out only once the service names it: the repository, emptied.
        await page.FillAsync("#spawn-taskId", "T-1");
        await page.FillAsync("#spawn-priority", "");
        await page.FillAsync("#spawn-context-repository", "");
        await page.ClickAsync("#spawn-submit");
        await Expect(page.Locator("[data-error-for='context.repository']")).ToHaveTextAsync("must not be empty");
        await Expect(page.Locator("[data-error-for=taskId]")).ToBeEmptyAsync();

        using var list = JsonDocument.Parse(await host.Client.GetStringAsync("/agents"));
        Assert.Equal(0, list.RootElement.GetProperty("total").GetInt32());
        browser.AssertNoPageErrors();
    }

    [ChromiumFact]
    public async Task With_a_key_the_page_asks_once_keeps_it_for_the_tab_and_sends_it_only_as_a_header()
    {
        const string key = "dashboard-test-key-4f1c";
        await using var host = await StartHostAsync(TempDirectory.Create("signals"), apiKey: key);
        await using var browser = await OpenAsync(host);
        var page = browser.Page;
        var urls = new List<string>();
        var keyedStreams = 0;
        page.Request += (_, request) =>
        {
            lock (urls)
            {
                urls.Add(request.Url);
                if (request.Url.Contains("/agents/events", StringComparison.Ordinal) && request.Headers.TryGetValue("x-api-key", out var sent) && sent == key)
                {
                    keyedStreams++;
                }
            }
        };

        // The page is public (it holds nothing); what it shows is not.
        using (var shell = await host.Client.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.OK, shell.StatusCode);
        }

        using (var data = await host.Client.GetAsync("/agents"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, data.StatusCode);
        }

        await page.GotoAsync(host.BaseAddress.ToString());
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await page.FillAsync("#key-input", "a-wrong-key");
        await page.ClickAsync("#key-submit");
        await Expect(page.Locator("#key-error")).ToContainTextAsync("does not match");
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await page.FillAsync("#key-input", key);
        await page.ClickAsync("#key-submit");
        await Expect(page.Locator("#key-dialog")).ToBeHiddenAsync();
        await Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        await Expect(page.Locator("[data-stat=pending] .stat-value")).ToHaveTextAsync("0");
        await Expect(page.Locator("#agent-count")).ToHaveTextAsync("0 agents");

        // Kept for the tab: a reload does not ask again.
        await page.ReloadAsync();
        await Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        await Expect(page.Locator("#agent-count")).ToHaveTextAsync("0 agents");
        await Expect(page.Locator("#key-dialog")).ToBeHiddenAsync();

        // Another tab asks for it itself.
        var other = await browser.Context.NewPageAsync();
        await other.GotoAsync(host.BaseAddress.ToString());
        await Expect(other.Locator("#key-dialog")).ToBeVisibleAsync();
        await other.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "api-key.png") });

        lock (urls)
        {
            Assert.NotEmpty(urls);
            Assert.DoesNotContain(urls, u => u.Contains(key, StringComparison.Ordinal));
            Assert.True(keyedStreams > 0, "the events stream was opened with the key in its header");
        }

        browser.AssertNoPageErrors();
    }

    [ChromiumFact]
    public async Task Phone_width_and_dark_are_readable_and_the_page_carries_its_security_headers()
    {
        var signals = TempDirectory.Create("signals");
        await using var host = await StartHostAsync(signals);
        var done = await host.SpawnAsync("docs-1", priority: 8);
        var failed = await host.SpawnAsync("fail-1");
        var running = await host.SpawnAsync("slow-1", agentType: "tester");
        await Wait.UntilAsync(async () =>
            (await host.StatusAsync(done)).GetProperty("status").GetString() == "completed"
            && (await host.StatusAsync(failed)).GetProperty("status").GetString() == "failed"
            && (await host.StatusAsync(running)).GetProperty("status").GetString() == "running", "the three agents to settle", AgentDeadline);

        await using (var phone = await OpenAsync(host, new ViewportSize { Width = 390, Height = 844 }))
        {
            var response = await phone.Page.GotoAsync(host.BaseAddress.ToString());
            var policy = await response!.HeaderValueAsync("content-security-policy");
            Assert.Contains("script-src 'self'", policy);
            Assert.DoesNotContain("unsafe-inline", policy);
            Assert.Equal("nosniff", await response.HeaderValueAsync("x-content-type-options"));

            await Expect(phone.Page.Locator("#agents-table tbody tr")).ToHaveCountAsync(3);
            await Expect(phone.Page.Locator("#agents-table thead")).ToBeHiddenAsync();
            Assert.True(await phone.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling at 390 px");
            await phone.Page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "phone.png"), FullPage = true });
            await phone.Page.GotoAsync($"{host.BaseAddress}#/agents/{done}");
            await Expect(phone.Page.Locator("#agent-diff")).ToContainTextAsync("+++ b/agent-output.txt");
            Assert.True(await phone.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling on the agent page");
            await phone.Page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "phone-agent.png"), FullPage = true });
            phone.AssertNoPageErrors();
        }

        await using (var dark = await OpenAsync(host, colorScheme: ColorScheme.Dark))
        {
            await dark.Page.GotoAsync(host.BaseAddress.ToString());
            await Expect(dark.Page.Locator("#agents-table tbody tr")).ToHaveCountAsync(3);
            await Expect(dark.Page.Locator("[data-stat=active] .stat-value")).ToHaveTextAsync("1");
            var background = await dark.Page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor");
            Assert.Equal("rgb(18, 21, 27)", background);
            await dark.Page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "dark.png") });

            // Filters narrow the table by the API, and live updates respect them.
            await dark.Page.SelectOptionAsync("#filter-status", "running");
            await Expect(dark.Page.Locator("#agents-table tbody tr")).ToHaveCountAsync(1);
            await File.WriteAllTextAsync(Path.Combine(signals, "slow-1"), "go");
            await Expect(dark.Page.Locator(".empty")).ToBeVisibleAsync(new() { Timeout = (float)AgentDeadline.TotalMilliseconds });
            await dark.Page.SelectOptionAsync("#filter-status", "");
            await dark.Page.FillAsync("#filter-task", "docs-1");
            await Expect(dark.Page.Locator("#agents-table tbody tr")).ToHaveCountAsync(1);
            await Expect(dark.Page.Locator("#agents-table tbody tr")).ToHaveAttributeAsync("data-agent-id", done.ToString());
            dark.AssertNoPageErrors();
        }
    }

    [ChromiumFact]
    public async Task Secret_findings_are_shown_as_the_service_redacted_them()
    {
        await using var host = await StartHostAsync(TempDirectory.Create("signals"));
        var agentId = await host.SpawnAsync("leak-1");
        await Wait.UntilAsync(async () => (await host.StatusAsync(agentId)).GetProperty("status").GetString() == "failed", "the scan to fail the agent", AgentDeadline);
        var finding = (await host.StatusAsync(agentId)).GetProperty("secretFindings").EnumerateArray().Single();
        await using var browser = await OpenAsync(host);
        var page = browser.Page;

        await page.GotoAsync($"{host.BaseAddress}#/agents/{agentId}");
        var row = page.Locator("#agent-findings tbody tr");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator("td[data-label=Rule]")).ToHaveTextAsync("github-pat");
        await Expect(row.Locator("td[data-label=Where]")).ToHaveTextAsync("settings.txt:1");
        await Expect(row.Locator("td[data-label=Preview]")).ToHaveTextAsync(finding.GetProperty("preview").GetString()!);
        await Expect(page.Locator("#agent-summary [data-field=status]")).ToHaveTextAsync("failed (secrets-detected)");
        await Expect(page.Locator("#agent-record")).ToContainTextAsync(finding.GetProperty("fingerprint").GetString()!);
        // The diff API serves git's text, token included; the page shows the finding in place of the line it points to.
        await Expect(page.Locator("#agent-diff")).ToContainTextAsync("+[line hidden: secret finding github-pat at settings.txt:1]");
        await Expect(page.Locator("#agent-diff")).ToContainTextAsync("+<b id=\"diffpwned\">hostile</b>");
        Assert.DoesNotContain(Leaked, await page.Locator("#agent-diff").TextContentAsync());
        Assert.DoesNotContain(Leaked, await page.Locator("#agent-findings").TextContentAsync());
        Assert.DoesNotContain(Leaked, await page.Locator("#agent-record").TextContentAsync());
        Assert.DoesNotContain(Leaked, await page.Locator("#agent-summary").TextContentAsync());
        await page.Locator("#agent-findings").ScrollIntoViewIfNeededAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "secret-findings.png") });
        browser.AssertNoPageErrors();
    }

    [ChromiumFact]
    public async Task Pause_and_resume_the_queue_and_kill_all_from_the_header()
    {
        var signals = TempDirectory.Create("signals");
        await using var host = await StartHostAsync(signals);
        var first = await host.SpawnAsync("slow-all-1");
        var second = await host.SpawnAsync("slow-all-2");
        await using var browser = await OpenAsync(host);
        var page = browser.Page;
        await page.GotoAsync(host.BaseAddress.ToString());
        await Expect(page.Locator("[data-stat=active] .stat-value")).ToHaveTextAsync("2", new() { Timeout = (float)AgentDeadline.TotalMilliseconds });

        await page.ClickAsync("#queue-toggle");
        await Expect(page.Locator("[data-stat=queue] .stat-value")).ToHaveTextAsync("paused");
        await Expect(page.Locator("#queue-toggle")).ToHaveTextAsync("Resume queue");
        Assert.True((await host.Client.GetFromJsonAsync<JsonElement>("/agents/queue/stats")).GetProperty("paused").GetBoolean());
        await page.ClickAsync("#queue-toggle");
        await Expect(page.Locator("[data-stat=queue] .stat-value")).ToHaveTextAsync("leasing");

        await page.ClickAsync("#kill-all");
        await page.ClickAsync("#confirm-ok");
        await Expect(page.Locator("#notice")).ToContainTextAsync("2 killed");
        await Expect(page.Locator("#agents-table tbody tr[data-status=killed]")).ToHaveCountAsync(2);
        await Expect(page.Locator("[data-stat=killed] .stat-value")).ToHaveTextAsync("2");
        foreach (var id in new[] { first, second })
        {
            Assert.Equal("killed", (await host.StatusAsync(id)).GetProperty("status").GetString());
        }

        browser.AssertNoPageErrors();
    }

    [ChromiumFact]
    public async Task The_stream_parser_reads_events_split_anywhere_with_comments_ids_and_multi_line_data()
    {
        await using var host = await TestHost.StartAsync();
        await using var browser = await OpenAsync(host);
        await browser.Page.GotoAsync(host.BaseAddress.ToString());
        var parsed = await browser.Page.EvaluateAsync<JsonElement>("""
            async () => {
              const { SseParser } = await import('/dashboard/sse.js');
              const text = ': connected\n\nid: 7\nevent: agent.running\ndata: {"a":1}\n\n' +
                'data: first\r\ndata: second\r\n\nevent: end\ndata:completed\n\nevent: lone\n\n';
              const events = [];
              const comments = [];
              const parser = new SseParser((e) => events.push(e), (c) => comments.push(c));
              for (let i = 0; i < text.length; i += 3) parser.push(text.slice(i, i + 3));
              return { events, comments };
            }
            """);
        Assert.Equal(["connected"], parsed.GetProperty("comments").EnumerateArray().Select(c => c.GetString()));
        var events = parsed.GetProperty("events").EnumerateArray().Select(e => (
            e.GetProperty("type").GetString(), e.GetProperty("data").GetString(),
            e.GetProperty("id").ValueKind == JsonValueKind.Null ? null : e.GetProperty("id").GetString())).ToList();
        Assert.Equal(
            [("agent.running", "{\"a\":1}", "7"), ("message", "first\nsecond", "7"), ("end", "completed", "7")],
            events);
        browser.AssertNoPageErrors();
    }

    [Fact]
    public async Task Every_embedded_file_is_served_with_the_policy_and_unknown_ones_are_404()
    {
        await using var host = await TestHost.StartAsync();
        Assert.Contains("index.html", Mosaic.Orchestrator.Dashboard.DashboardApi.FileNames);
        foreach (var file in Mosaic.Orchestrator.Dashboard.DashboardApi.FileNames)
        {
            using var response = await host.Client.GetAsync($"/dashboard/{file}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Mosaic.Orchestrator.Dashboard.DashboardApi.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
            Assert.NotNull(response.Headers.ETag);
            var text = await response.Content.ReadAsStringAsync();
            foreach (var parsesMarkup in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(" })
            {
                Assert.DoesNotContain(parsesMarkup, text);
            }
        }

        using var js = await host.Client.GetAsync("/dashboard/app.js");
        Assert.Equal("text/javascript", js.Content.Headers.ContentType?.MediaType);
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/dashboard/app.js");
        conditional.Headers.IfNoneMatch.Add(js.Headers.ETag!);
        using var notModified = await host.Client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var missing = await host.Client.GetAsync("/dashboard/nothing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var page = await host.Client.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("<script type=\"module\" src=\"dashboard/app.js\"></script>", html);
    }

    private async Task<OpenBrowser> OpenAsync(TestHost host, ViewportSize? viewport = null, ColorScheme colorScheme = ColorScheme.Light)
    {
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 800 },
            ColorScheme = colorScheme,
            BaseURL = host.BaseAddress.ToString(),
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        var open = new OpenBrowser(context, page);
        page.Console += (_, message) =>
        {
            // A 401 before the key is typed and a 404 for a diff not made yet are answers the page handles.
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                open.Errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => open.Errors.Add(error);
        return open;
    }

    /// <summary>A browser context with its first page; errors the page logged or threw (CSP violations among them) fail the test.</summary>
    private sealed class OpenBrowser(IBrowserContext context, IPage page) : IAsyncDisposable
    {
        public IBrowserContext Context { get; } = context;

        public IPage Page { get; } = page;

        public ErrorList Errors { get; } = new();

        public void AssertNoPageErrors() => Assert.True(Errors.Items.Count == 0, string.Join("\n", Errors.Items));

        public async ValueTask DisposeAsync() => await Context.CloseAsync();
    }

    private sealed class ErrorList
    {
        private readonly List<string> _items = [];

        public IReadOnlyList<string> Items
        {
            get
            {
                lock (_items)
                {
                    return [.. _items];
                }
            }
        }

        public void Add(string text)
        {
            lock (_items)
            {
                _items.Add(text);
            }
        }
    }
}
