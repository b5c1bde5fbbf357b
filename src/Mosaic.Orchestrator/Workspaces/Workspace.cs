namespace Mosaic.Orchestrator.Workspaces;

/// <summary>An agent's prepared workspace: the worktree, its new branch, and the base commit it starts from.</summary>
public sealed record Workspace(string Path, string Branch, string BaseCommit);

/// <summary>What the agent left: the branch head, and whether anything changed against the base.</summary>
public sealed record CommitOutcome(string HeadCommit, bool Changed);

/// <summary>Files that conflict with the freshly fetched base; empty when the branch merges cleanly.</summary>
public sealed record ConflictCheck(string BaseCommit, IReadOnlyList<string> Files);
