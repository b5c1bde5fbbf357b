using System.Diagnostics;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>
/// Real git repositories for tests: a bare "remote" with a main branch, a scratch clone to change it the way a
/// colleague would, and helpers to read what arrived on the remote.
/// </summary>
public sealed class GitRemote
{
    private GitRemote(string root, string bare)
    {
        Root = root;
        Bare = bare;
    }

    public string Root { get; }

    /// <summary>The bare repository: a local path usable as `repository` with ALLOW_LOCAL_REPOSITORIES.</summary>
    public string Bare { get; }

    private static readonly Lazy<GitRemote> Shared = new(() => Create("shared"));

    /// <summary>One remote shared by tests that only need some repository (every agent pushes its own branch).</summary>
    public static GitRemote Default => Shared.Value;

    public static GitRemote Create(string name, int files = 1)
    {
        var root = TempDirectory.Create($"git-{name}");
        var bare = Path.Combine(root, "remote.git");
        Git(root, "init", "--quiet", "--bare", "--initial-branch=main", bare);
        var work = Path.Combine(root, "seed");
        Git(root, "clone", "--quiet", bare, work);
        File.WriteAllText(Path.Combine(work, "README.md"), "# Demo\n\nline one\nline two\n");
        for (var i = 1; i < files; i++)
        {
            var dir = Path.Combine(work, "src", $"d{i % 100}");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, $"f{i}.txt"), $"file {i}\n");
        }

        Git(work, "add", "--all");
        Git(work, "commit", "--quiet", "-m", "initial");
        Git(work, "push", "--quiet", "origin", "HEAD:refs/heads/main");
        Directory.Delete(work, recursive: true);
        return new GitRemote(root, bare);
    }

    /// <summary>Commits a change to a branch of the remote, as someone else would.</summary>
    public string CommitToBranch(string branch, string file, string content, string message = "change")
    {
        var work = Path.Combine(Root, $"work-{Guid.NewGuid():N}");
        Git(Root, "clone", "--quiet", "--branch", branch, Bare, work);
        File.WriteAllText(Path.Combine(work, file), content);
        Git(work, "add", "--all");
        Git(work, "commit", "--quiet", "-m", message);
        Git(work, "push", "--quiet", "origin", $"HEAD:refs/heads/{branch}");
        var head = Git(work, "rev-parse", "HEAD").Trim();
        Directory.Delete(work, recursive: true);
        return head;
    }

    /// <summary>Commits several files (folders created as needed) to a branch of the remote.</summary>
    public string CommitFiles(string branch, IReadOnlyDictionary<string, string> files, string message = "change")
    {
        var work = Path.Combine(Root, $"work-{Guid.NewGuid():N}");
        Git(Root, "clone", "--quiet", "--branch", branch, Bare, work);
        foreach (var (file, content) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(work, file))!);
            File.WriteAllText(Path.Combine(work, file), content);
        }

        Git(work, "add", "--all");
        Git(work, "commit", "--quiet", "-m", message);
        Git(work, "push", "--quiet", "origin", $"HEAD:refs/heads/{branch}");
        var head = Git(work, "rev-parse", "HEAD").Trim();
        Directory.Delete(work, recursive: true);
        return head;
    }

    /// <summary>
    /// Adds a submodule entry to a branch the way a repository can hold one: a gitlink at <paramref name="path"/> (to the
    /// branch's own head, never fetched) and a .gitmodules section with the given <c>update</c> value.
    /// </summary>
    public string AddSubmoduleEntry(string branch, string path, string update)
    {
        var work = Path.Combine(Root, $"work-{Guid.NewGuid():N}");
        Git(Root, "clone", "--quiet", "--branch", branch, Bare, work);
        var head = Git(work, "rev-parse", "HEAD").Trim();
        File.WriteAllText(Path.Combine(work, ".gitmodules"), $"[submodule \"{path}\"]\n\tpath = {path}\n\turl = ./{path}\n\tupdate = {update}\n");
        Git(work, "update-index", "--add", "--cacheinfo", $"160000,{head},{path}");
        Git(work, "add", ".gitmodules");
        Git(work, "commit", "--quiet", "-m", "submodule");
        Git(work, "push", "--quiet", "origin", $"HEAD:refs/heads/{branch}");
        Directory.Delete(work, recursive: true);
        return head;
    }

    public string? BranchHead(string branch)
    {
        var line = Git(Bare, "ls-remote", Bare, $"refs/heads/{branch}").Trim();
        return line.Length == 0 ? null : line.Split('\t')[0];
    }

    public string Show(string revision, string path) => Git(Bare, "show", $"{revision}:{path}");

    public string Log(string revision) => Git(Bare, "log", "--format=%an <%ae>|%s", revision);

    /// <summary>Installs a pre-receive hook on the remote that refuses every push with a message.</summary>
    public void RefusePushes(string message)
    {
        var hook = Path.Combine(Bare, "hooks", "pre-receive");
        File.WriteAllText(hook, $"#!/bin/sh\necho \"{message}\" >&2\nexit 1\n");
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(hook, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public static string Git(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GIT_AUTHOR_NAME"] = start.Environment["GIT_COMMITTER_NAME"] = "Test Colleague";
        start.Environment["GIT_AUTHOR_EMAIL"] = start.Environment["GIT_COMMITTER_EMAIL"] = "colleague@example.test";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        using var git = Process.Start(start)!;
        var output = git.StandardOutput.ReadToEndAsync();
        var error = git.StandardError.ReadToEnd();
        git.WaitForExit();
        if (git.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', arguments)} failed: {error}");
        }

        return output.Result;
    }
}
