using Microsoft.Playwright;

namespace Mosaic.Orchestrator.Tests.Dashboard;

/// <summary>
/// Debian's Chromium driven by Playwright (no browser download: Playwright's own driver ships in its NuGet package).
/// One browser for a test class; each test opens contexts of its own.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public const string MissingReason = $"Chromium is not installed at {ExecutablePath} (scripts/setup.sh installs the `chromium` package)";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static bool Installed => File.Exists(ExecutablePath);

    public async Task InitializeAsync()
    {
        if (!Installed)
        {
            return;
        }

        // Busy machines (CI runs the whole suite on two cores) are slow to paint; a few seconds are not a failure.
        Assertions.SetDefaultExpectTimeout(15_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ExecutablePath, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (_playwright is not null)
        {
            await Browser.CloseAsync();
            _playwright.Dispose();
        }
    }
}

/// <summary>A test that needs Chromium: skipped, with the reason, only when the browser is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!Chromium.Installed)
        {
            Skip = Chromium.MissingReason;
        }
    }
}
