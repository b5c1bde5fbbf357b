using System.Text;
using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Runtimes;

/// <summary>
/// The task prompt, one template per agent type, filled from the spawn context. PROMPT_TEMPLATE_DIR may hold
/// worker.md, reviewer.md and tester.md to replace the built-in ones; a template naming a placeholder that does not
/// exist is refused at start, not discovered in an agent's odd behaviour later.
/// </summary>
public sealed partial class PromptTemplates
{
    public static readonly string[] Placeholders =
        ["taskId", "agentId", "agentType", "repository", "baseBranch", "branch", "baseCommit", "workItems", "skills", "attempt"];

    private const string Worker = """
        You are a software engineer working on task {{taskId}}. The current directory is your own checkout of the git
        repository {{repository}}, on branch {{branch}}, created from {{baseBranch}}.

        Implement these work items:
        {{workItems}}

        Skills to apply: {{skills}}

        Make the changes in this directory, run the project's tests if it has any, and commit your work with clear
        messages. Do not push and do not switch branches: the orchestrator checks and pushes your branch.

        """;

    private const string Reviewer = """
        You are a code reviewer for task {{taskId}}. The current directory is a checkout of the git repository
        {{repository}}, on branch {{branch}}, created from {{baseBranch}}.

        Review the changes on {{baseBranch}} that these work items introduced:
        {{workItems}}

        Use git log and git diff to read the branch's changes against its base, and read the code around them.
        Skills to apply: {{skills}}
        Do not change any file. End your answer with your verdict as one JSON object on its own line:
        {"approved": true or false, "confidence": 0.0 to 1.0, "findings": ["..."]}

        """;

    private const string Tester = """
        You are a tester for task {{taskId}}. The current directory is your own checkout of the git repository
        {{repository}}, on branch {{branch}}, created from {{baseBranch}}.

        Write tests for these work items:
        {{workItems}}

        Skills to apply: {{skills}}

        Run the tests, fix the tests (not the code under test) until they are correct, and commit them with clear
        messages. Report failures you believe are real bugs in your final answer. Do not push.

        """;

    private readonly IReadOnlyDictionary<AgentType, string> _templates;

    private PromptTemplates(IReadOnlyDictionary<AgentType, string> templates) => _templates = templates;

    public static PromptTemplates BuiltIn { get; } = new(new Dictionary<AgentType, string>
    {
        [AgentType.Worker] = Worker,
        [AgentType.Reviewer] = Reviewer,
        [AgentType.Tester] = Tester,
    });

    /// <summary>The built-in templates with any of PROMPT_TEMPLATE_DIR's files in their place; problems lists what is wrong.</summary>
    public static PromptTemplates Load(string? directory, out IReadOnlyList<string> problems)
    {
        var found = new List<string>();
        var templates = new Dictionary<AgentType, string>
        {
            [AgentType.Worker] = Worker,
            [AgentType.Reviewer] = Reviewer,
            [AgentType.Tester] = Tester,
        };
        if (!string.IsNullOrEmpty(directory))
        {
            if (!Directory.Exists(directory))
            {
                found.Add($"PROMPT_TEMPLATE_DIR '{directory}' does not exist.");
            }
            else
            {
                foreach (var type in Enum.GetValues<AgentType>())
                {
                    var file = Path.Combine(directory, type.ToString().ToLowerInvariant() + ".md");
                    if (!File.Exists(file))
                    {
                        continue;
                    }

                    var text = File.ReadAllText(file);
                    var unknown = Placeholder().Matches(text).Select(m => m.Groups[1].Value).Where(p => !Placeholders.Contains(p)).Distinct().ToList();
                    if (unknown.Count > 0)
                    {
                        found.Add($"{file} names unknown placeholders: {string.Join(", ", unknown)} (known: {string.Join(", ", Placeholders)}).");
                    }
                    else if (string.IsNullOrWhiteSpace(text))
                    {
                        found.Add($"{file} is empty.");
                    }
                    else
                    {
                        templates[type] = text;
                    }
                }
            }
        }

        problems = found;
        return new PromptTemplates(templates);
    }

    public string Render(AgentRecord agent) => Placeholder().Replace(_templates[agent.AgentType], match => Value(agent, match.Groups[1].Value));

    private static string Value(AgentRecord agent, string name) => name switch
    {
        "taskId" => agent.TaskId,
        "agentId" => agent.AgentId.ToString(),
        "agentType" => agent.AgentType.ToString().ToLowerInvariant(),
        "repository" => Workspaces.RepositoryAddress.Redact(agent.Context.Repository),
        "baseBranch" => agent.Context.Branch,
        "branch" => agent.Branch ?? agent.Context.Branch,
        "baseCommit" => agent.BaseCommit ?? "",
        "workItems" => agent.Context.WorkItems.Count == 0 ? "- (none given: see the task)" : List(agent.Context.WorkItems),
        "skills" => agent.Context.Skills.Count == 0 ? "(none given)" : string.Join(", ", agent.Context.Skills),
        "attempt" => agent.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "",
    };

    private static string List(IEnumerable<string> items)
    {
        var text = new StringBuilder();
        foreach (var item in items)
        {
            text.Append(text.Length == 0 ? "- " : "\n- ").Append(item);
        }

        return text.ToString();
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z]+)\s*\}\}")]
    private static partial Regex Placeholder();
}
