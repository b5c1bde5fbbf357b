using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// The names of an agent's branches: AGENT_BRANCH_TEMPLATE (its work) and WIP_BRANCH_TEMPLATE (what an attempt that
/// ended badly left, which may also name the agent's branch as {branch}). Every agent must get branches of its own (a
/// push may replace only that agent's earlier push), so a template must name the agent, and an unknown placeholder is
/// refused at start instead of being kept as text that every agent would share.
/// </summary>
public static partial class BranchTemplate
{
    public static readonly IReadOnlyList<string> Placeholders = ["taskId", "agentId", "shortId", "agentType"];

    /// <summary>The agent's own branch, in a WIP template.</summary>
    public const string BranchPlaceholder = "branch";

    /// <summary>
    /// Eight hex digits of the agent id's random part. Agent ids are UUIDv7, whose first 48 bits are the time: their
    /// first eight hex digits are the same for every agent created within about a minute.
    /// </summary>
    public static string ShortId(Guid agentId) => agentId.ToString("N")[^8..];

    /// <summary>The template filled for the agent; <paramref name="branch"/> fills {branch} (WIP templates).</summary>
    public static string Render(string template, AgentRecord agent, string? branch = null) => Placeholder().Replace(template, m => m.Groups[1].Value switch
    {
        "taskId" => agent.TaskId,
        "agentId" => agent.AgentId.ToString(),
        "shortId" => ShortId(agent.AgentId),
        "agentType" => agent.AgentType.ToString().ToLowerInvariant(),
        BranchPlaceholder when branch is not null => branch,
        _ => m.Value,
    });

    /// <summary>Problems with AGENT_BRANCH_TEMPLATE, each naming the setting; empty when it is usable.</summary>
    public static IReadOnlyList<string> Check(string template) => Check(template, "AGENT_BRANCH_TEMPLATE", Placeholders);

    /// <summary>Problems with WIP_BRANCH_TEMPLATE, which names the agent itself or through {branch}.</summary>
    public static IReadOnlyList<string> CheckWip(string template) =>
        Check(template, "WIP_BRANCH_TEMPLATE", [BranchPlaceholder, .. Placeholders]);

    private static List<string> Check(string template, string setting, IReadOnlyList<string> placeholders)
    {
        var problems = new List<string>();
        var unknown = Placeholder().Matches(template).Select(m => m.Groups[1].Value).Where(p => !placeholders.Contains(p)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"{setting} has unknown placeholder(s) {string.Join(", ", unknown.Select(u => "{" + u + "}"))}; " +
                $"use {string.Join(", ", placeholders.Select(p => "{" + p + "}"))}.");
        }

        var naming = placeholders.Where(p => p is "agentId" or "shortId" or BranchPlaceholder).ToList();
        if (!naming.Any(p => template.Contains("{" + p + "}", StringComparison.Ordinal)))
        {
            problems.Add($"{setting} must contain {string.Join(" or ", naming.Select(p => "{" + p + "}"))}, so that every agent pushes a branch of its own.");
        }

        if (problems.Count == 0)
        {
            var sample = new AgentRecord
            {
                AgentId = Guid.CreateVersion7(),
                TaskId = "T-1",
                AgentType = AgentType.Worker,
                GateProfile = GateProfile.Standard,
                Priority = 5,
                Context = new AgentContext("https://example.test/repo.git", "main", [], []),
                Status = AgentStatus.Spawning,
                TaskState = TaskState.Pending,
                SpawnedAt = DateTimeOffset.UnixEpoch,
                MaxAttempts = 1,
            };
            var rendered = Render(template, sample, "agent/T-1-0123abcd");
            if (BranchName.Check(rendered) is { } problem)
            {
                problems.Add($"{setting} gives branch names like '{rendered}', which {problem}.");
            }
        }

        return problems;
    }

    [GeneratedRegex(@"\{([^{}]*)\}")]
    private static partial Regex Placeholder();
}
