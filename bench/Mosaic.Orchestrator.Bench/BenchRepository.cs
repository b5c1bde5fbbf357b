using System.Diagnostics;

namespace Mosaic.Orchestrator.Bench;

/// <summary>Generated repositories for the benchmarks, and a git runner.</summary>
internal static class BenchRepository
{
    /// <summary>Creates a bare repository with <paramref name="files"/> small files on main; returns its path.</summary>
    public static string Create(string root, int files)
    {
        Directory.CreateDirectory(root);
        var bare = Path.Combine(root, "remote.git");
        Git(root, "init", "--quiet", "--bare", "--initial-branch=main", bare);
        var seed = Path.Combine(root, "seed");
        Git(root, "init", "--quiet", "--initial-branch=main", seed);
        for (var i = 0; i < files; i++)
        {
            var dir = Path.Combine(seed, "src", $"d{i % 100:D2}");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, $"f{i:D5}.txt"), $"file {i}\n");
        }

        Git(seed, "add", "--all");
        Git(seed, "commit", "--quiet", "-m", "generated");
        Git(seed, "push", "--quiet", bare, "HEAD:refs/heads/main");
        Directory.Delete(seed, recursive: true);
        return bare;
    }

    public static string Git(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GIT_AUTHOR_NAME"] = start.Environment["GIT_COMMITTER_NAME"] = "Bench";
        start.Environment["GIT_AUTHOR_EMAIL"] = start.Environment["GIT_COMMITTER_EMAIL"] = "bench@example.test";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        using var git = Process.Start(start)!;
        var output = git.StandardOutput.ReadToEndAsync();
        var error = git.StandardError.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0 ? output.Result : throw new InvalidOperationException($"git {string.Join(' ', arguments)}: {error}");
    }
}
