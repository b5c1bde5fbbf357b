using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Workspaces;

/// <summary>
/// AGENT_BRANCH_TEMPLATE: the name of an agent's own branch. Every agent must get a branch of its own (a push may
/// replace only that agent's earlier push), so a template must name the agent ({agentId} or {shortId}), and an
/// unknown placeholder is refused at start instead of being kept as text that every agent would share.
/// </summary>
public static partial class BranchTemplate
{
    public static readonly IReadOnlyList<string> Placeholders = ["taskId", "agentId", "shortId", "agentType"];

    /// <summary>
    /// Eight hex digits of the agent id's random part. Agent ids are UUIDv7, whose first 48 bits are the time: their
    /// first eight hex digits are the same for every agent created within about a minute.
    /// </summary>
    public static string ShortId(Guid agentId) => agentId.ToString("N")[^8..];

    public static string Render(string template, AgentRecord agent) => Placeholder().Replace(template, m => m.Groups[1].Value switch
    {
        "taskId" => agent.TaskId,
        "agentId" => agent.AgentId.ToString(),
        "shortId" => ShortId(agent.AgentId),
        "agentType" => agent.AgentType.ToString().ToLowerInvariant(),
        _ => m.Value,
    });

    /// <summary>Problems with a template, each naming the setting; empty when it is usable.</summary>
    public static IReadOnlyList<string> Check(string template)
    {
        var problems = new List<string>();
        var unknown = Placeholder().Matches(template).Select(m => m.Groups[1].Value).Where(p => !Placeholders.Contains(p)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"AGENT_BRANCH_TEMPLATE has unknown placeholder(s) {string.Join(", ", unknown.Select(u => "{" + u + "}"))}; " +
                $"use {string.Join(", ", Placeholders.Select(p => "{" + p + "}"))}.");
        }

        if (!template.Contains("{agentId}", StringComparison.Ordinal) && !template.Contains("{shortId}", StringComparison.Ordinal))
        {
            problems.Add("AGENT_BRANCH_TEMPLATE must contain {agentId} or {shortId}, so that every agent pushes a branch of its own.");
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
            var rendered = Render(template, sample);
            if (BranchName.Check(rendered) is { } problem)
            {
                problems.Add($"AGENT_BRANCH_TEMPLATE gives branch names like '{rendered}', which {problem}.");
            }
        }

        return problems;
    }

    [GeneratedRegex(@"\{([^{}]*)\}")]
    private static partial Regex Placeholder();
}
