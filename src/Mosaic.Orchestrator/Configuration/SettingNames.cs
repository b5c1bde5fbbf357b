using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>
/// Range and Required checks speak of the C# property ("The field AgentNice must be between 0 and 19"); people set
/// AGENT_NICE. This rewrites such messages to the names the README and the environment use.
/// </summary>
public static partial class SettingNames
{
    private static readonly Lazy<Dictionary<string, string>> Names = new(() =>
        new[] { typeof(OrchestratorOptions), typeof(Runtimes.ClaudeCode.ClaudeCodeOptions), typeof(Gates.GateOptions) }
            .SelectMany(t => t.GetProperties())
            .Where(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>() is not null)
            .GroupBy(p => p.Name)
            .ToDictionary(g => g.Key, g => g.First().GetCustomAttribute<ConfigurationKeyNameAttribute>()!.Name));

    public static string Explain(string message) =>
        FieldName().Replace(message, m => Names.Value.TryGetValue(m.Groups[1].Value, out var name) ? $"The field {name}" : m.Value);

    [GeneratedRegex(@"The field (\w+)")]
    private static partial Regex FieldName();
}
