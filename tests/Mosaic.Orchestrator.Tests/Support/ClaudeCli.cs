namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// The real Claude Code CLI, installed by scripts/setup.sh (which test.sh and .ci/run call) into .tools/claude
/// at the repository root. Tests that need it fail with a clear message when it is missing: they are not skipped.
/// </summary>
public static class ClaudeCli
{
    private static readonly Lazy<string> Located = new(Locate);

    public static string Path => Located.Value;

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("MOSAIC_TEST_CLAUDE_PATH") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, ".tools", "claude", "node_modules", ".bin", "claude");
            if (File.Exists(candidate))
            {
                return candidate;
            }

            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Mosaic.Orchestrator.slnx")))
            {
                break;
            }
        }

        throw new InvalidOperationException("the claude CLI is not installed for the tests: run scripts/setup.sh (it installs it into .tools/claude)");
    }
}
