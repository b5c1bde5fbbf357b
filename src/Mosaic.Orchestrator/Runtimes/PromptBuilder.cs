using System.Text;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Runtimes;

/// <summary>The task prompt from the spawn context: what the agent type does, on which branch, which work items, with which skills.</summary>
public static class PromptBuilder
{
    public static string Build(AgentRecord agent)
    {
        var text = new StringBuilder();
        text.AppendLine(agent.AgentType switch
        {
            AgentType.Reviewer => "You are a code reviewer. Review the changes on this branch against its base and write a verdict with your findings.",
            AgentType.Tester => "You are a tester. Write tests for the work items below, run them, and commit the tests.",
            _ => "You are a software engineer. Implement the work items below in this repository and commit your work.",
        });
        text.AppendLine();
        text.Append("Task: ").AppendLine(agent.TaskId);
        text.Append("Repository: ").AppendLine(Workspaces.RepositoryAddress.Redact(agent.Context.Repository));
        text.Append("Base branch: ").AppendLine(agent.Context.Branch);
        if (agent.Context.WorkItems.Count > 0)
        {
            text.Append("Work items: ").AppendLine(string.Join(", ", agent.Context.WorkItems));
        }

        if (agent.Context.Skills.Count > 0)
        {
            text.Append("Skills: ").AppendLine(string.Join(", ", agent.Context.Skills));
        }

        return text.ToString();
    }
}
