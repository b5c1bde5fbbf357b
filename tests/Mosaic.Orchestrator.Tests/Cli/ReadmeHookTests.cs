using System.Diagnostics;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Tests.Secrets;
using Mosaic.Orchestrator.Tests.Support;
using static Mosaic.Orchestrator.Tests.Secrets.FakeSecrets;

namespace Mosaic.Orchestrator.Tests.Cli;

/// <summary>
/// The README's pre-commit hook, taken from the README as it stands, in a real repository, with the
/// <c>mosaic-orchestrator</c> launcher that scripts/install.sh writes on PATH: what a reader who follows it gets.
/// </summary>
public sealed class ReadmeHookTests
{
    /// <summary>The launcher's folder: scripts/install.sh run once for this test run, on the build the tests use.</summary>
    private static readonly Lazy<string> InstalledBin = new(Install);

    [Fact]
    public void The_readme_hook_refuses_a_commit_that_adds_a_secret_and_passes_a_clean_one_silently()
    {
        var repo = TestRepository.Create("readme-hook");
        repo.Write("config.yml", "region: eu\n");
        repo.Commit("initial");
        InstallHook(repo);
        var path = $"{InstalledBin.Value}:{Environment.GetEnvironmentVariable("PATH")}";

        // A commit that adds a secret is refused, with the finding, the hint and the way past it.
        var head = repo.Git("rev-parse", "HEAD").Trim();
        repo.Write("config.yml", $"region: eu\ntoken: {GitHubClassic("readme-hook")}\n").Git("add", "config.yml");
        var leak = Commit(repo, path, "add the token");
        Assert.True(leak.Exit != 0, "the hook must refuse the commit: " + leak.Output + leak.Error);
        Assert.Equal(head, repo.Git("rev-parse", "HEAD").Trim());
        Assert.Contains("config.yml:2:8: github-pat:", leak.Output + leak.Error, StringComparison.Ordinal);
        Assert.Contains("1 secret found", leak.Error, StringComparison.Ordinal);
        Assert.Contains("mosaic:allow", leak.Error, StringComparison.Ordinal);
        Assert.Contains("git commit --no-verify", leak.Error, StringComparison.Ordinal);

        // A clean commit passes, and the hook says nothing.
        repo.Write("config.yml", "region: eu\ntoken: ${GITHUB_TOKEN}\n").Git("add", "config.yml");
        var clean = Commit(repo, path, "read the token from the environment");
        Assert.True(clean.Exit == 0, clean.Output + clean.Error);
        Assert.Equal("", clean.Error);
        Assert.NotEqual(head, repo.Git("rev-parse", "HEAD").Trim());

        // A test fixture with its allowlist entry staged in the same commit passes: --staged reads the index.
        var fixture = GitHubClassic("readme-fixture");
        repo.Write("tests/fixture.txt", $"token={fixture}\n")
            .Write(".mosaic/secrets-allowlist", $"# the signing tests' fake token\n{SecretFingerprint.Compute("github-pat", "tests/fixture.txt", fixture)}\n");
        repo.Git("add", "--all");
        var allowed = Commit(repo, path, "a fixture and its allowlist entry");
        Assert.True(allowed.Exit == 0, allowed.Output + allowed.Error);
        Assert.Equal("", allowed.Error);
    }

    [Fact]
    public void Without_the_launcher_on_PATH_the_readme_hook_refuses_with_a_message_that_says_what_to_do()
    {
        var repo = TestRepository.Create("readme-hook-missing");
        repo.Write("a.txt", "a\n");
        repo.Commit("initial");
        InstallHook(repo);

        repo.Write("a.txt", "b\n").Git("add", "a.txt");
        var result = Commit(repo, "/usr/bin:/bin", "no scanner");
        Assert.True(result.Exit != 0, result.Output + result.Error);
        Assert.Contains("mosaic-orchestrator is not on PATH (run scripts/install.sh)", result.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// The README's hook block: the first <c>```sh</c> block that starts with <c>#!/bin/sh</c> and runs
    /// <c>scan --staged</c>. README.md first; docs/ too, should the section move there.
    /// </summary>
    internal static string ReadmeHook()
    {
        var checkout = Checkout.Root;
        var documents = new[] { Path.Combine(checkout, "README.md") }
            .Concat(Directory.Exists(Path.Combine(checkout, "docs")) ? Directory.EnumerateFiles(Path.Combine(checkout, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : []);
        foreach (var document in documents)
        {
            var lines = File.ReadAllText(document).Replace("\r", "", StringComparison.Ordinal).Split('\n');
            for (var i = 0; i < lines.Length - 1; i++)
            {
                if (lines[i] != "```sh" || lines[i + 1] != "#!/bin/sh")
                {
                    continue;
                }

                var end = Array.IndexOf(lines, "```", i + 1);
                var block = string.Join('\n', lines[(i + 1)..end]) + "\n";
                if (block.Contains("mosaic-orchestrator scan --staged", StringComparison.Ordinal))
                {
                    return block;
                }
            }
        }

        throw new InvalidOperationException("README.md has no ```sh block with the pre-commit hook (#!/bin/sh ... mosaic-orchestrator scan --staged)");
    }

    private static void InstallHook(TestRepository repo)
    {
        var hook = Path.Combine(repo.Path, ".git", "hooks", "pre-commit");
        Directory.CreateDirectory(Path.GetDirectoryName(hook)!);
        File.WriteAllText(hook, ReadmeHook());
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(hook, (UnixFileMode)0b111_101_101);
        }
    }

    private static (int Exit, string Output, string Error) Commit(TestRepository repo, string path, string message) =>
        Run("git", repo.Path, path, [], "-c", "user.name=Reader", "-c", "user.email=reader@example.test", "commit", "-q", "-m", message);

    private static string Install()
    {
        var prefix = TempDirectory.Create("install");
        var result = Run("bash", Checkout.Root, Environment.GetEnvironmentVariable("PATH")!, new() { ["MOSAIC_INSTALL_FROM"] = AppContext.BaseDirectory },
            Checkout.File("scripts", "install.sh"), prefix);
        Assert.True(result.Exit == 0, result.Output + result.Error);
        Assert.Contains($"the launcher is {prefix}/bin/mosaic-orchestrator", result.Output, StringComparison.Ordinal);
        Assert.Contains($"{prefix}/bin is not on PATH", result.Output, StringComparison.Ordinal);
        return Path.Combine(prefix, "bin");
    }

    internal static (int Exit, string Output, string Error) Run(string file, string workingDirectory, string path, Dictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PATH"] = path;
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error);
    }
}
