using System.Diagnostics;

namespace Mosaic.Orchestrator.Processes;

/// <summary>
/// Closes a started process's stdout and stderr pipes when its owner is done. Process.Dispose does not: once code
/// has read StandardOutput or StandardError, .NET leaves those streams to their reader (they may still be in use)
/// and the pipes stay open until a garbage collection finalizes them. An idle service collects rarely, so every
/// agent left about eight pipe descriptors behind (263 after 30 agents, found by the fault suite).
/// </summary>
public readonly struct ProcessStreams(Process process) : IDisposable
{
    public static ProcessStreams Own(Process process) => new(process);

    public void Dispose()
    {
        // A pump still reading (a grandchild holding the pipe past the drain's bound) sees its read end; that is
        // what the drain's bound already accepts.
        process.StandardOutput.Dispose();
        process.StandardError.Dispose();
    }
}
