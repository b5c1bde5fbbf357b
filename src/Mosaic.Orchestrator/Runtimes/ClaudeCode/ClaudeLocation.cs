namespace Mosaic.Orchestrator.Runtimes.ClaudeCode;

/// <summary>
/// The default of CLAUDE_PATH: <c>claude</c> when it is on PATH, else the CLI that <c>scripts/setup.sh</c> installs into
/// <c>.tools/claude</c> of the checkout this executable was built in. That folder is found by walking up from the
/// executable's own folder (<c>.build/service</c>, <c>src/.../bin/Debug/net10.0</c>, or an installed copy with a
/// <c>.tools</c> link beside it), stopping at the checkout's top (the folder with the solution file). When neither is
/// there the default stays <c>claude</c>, and readiness says how to install it.
/// </summary>
public static class ClaudeLocation
{
    public const string Command = "claude";

    /// <summary>Where setup.sh puts the CLI, relative to the top of the checkout.</summary>
    public const string SetupInstallPath = ".tools/claude/node_modules/.bin/claude";

    private const string CheckoutMarker = "Mosaic.Orchestrator.slnx";

    /// <summary>What CLAUDE_PATH means when it is not set, for this process.</summary>
    public static string Default() => Find(Environment.GetEnvironmentVariable("PATH"), AppContext.BaseDirectory) ?? Command;

    /// <summary><c>claude</c> if PATH has it; else setup.sh's copy above <paramref name="startDirectory"/>; else null.</summary>
    public static string? Find(string? pathVariable, string startDirectory)
    {
        foreach (var directory in (pathVariable ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (ClaudeBinary.IsExecutable(Path.Combine(directory, Command)))
            {
                return Command;
            }
        }

        for (var directory = new DirectoryInfo(startDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, SetupInstallPath);
            if (ClaudeBinary.IsExecutable(candidate))
            {
                return candidate;
            }

            if (File.Exists(Path.Combine(directory.FullName, CheckoutMarker)))
            {
                break; // the top of the checkout: a .tools folder above it belongs to something else
            }
        }

        return null;
    }
}
