using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>
/// The names people set (AGENT_NICE), as opposed to the C# properties they bind to (AgentNice): which names are
/// settings at all, and messages rewritten to speak of those names.
/// </summary>
public static partial class SettingNames
{
    /// <summary>The option classes bound from the flat setting names, each with its cross-setting validator.</summary>
    public static readonly Type[] OptionTypes =
        [typeof(OrchestratorOptions), typeof(Runtimes.ClaudeCode.ClaudeCodeOptions), typeof(Gates.GateOptions), typeof(Sandbox.SandboxOptions)];

    private static readonly Lazy<Dictionary<string, string>> ByProperty = new(() =>
        OptionTypes
            .SelectMany(t => t.GetProperties())
            .Where(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>() is not null)
            .GroupBy(p => p.Name)
            .ToDictionary(g => g.Key, g => g.First().GetCustomAttribute<ConfigurationKeyNameAttribute>()!.Name));

    // From every property, not ByProperty: two classes may name a property alike (ApiKey: ORCHESTRATOR_API_KEY and
    // CLAUDE_API_KEY), and both settings are known.
    private static readonly Lazy<HashSet<string>> KnownNames = new(() =>
        new HashSet<string>(
            OptionTypes.SelectMany(t => t.GetProperties())
                .Select(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name)
                .OfType<string>(),
            StringComparer.OrdinalIgnoreCase));

    /// <summary>Every setting name, sorted.</summary>
    public static IReadOnlyList<string> All => [.. KnownNames.Value.Order(StringComparer.Ordinal)];

    /// <summary>
    /// A setting name, or a key of a section the host reads itself (Logging:LogLevel:..., written Logging__... in the
    /// environment). Configuration keys ignore case, so agent_nice sets AGENT_NICE and is known.
    /// </summary>
    public static bool IsKnown(string name) =>
        KnownNames.Value.Contains(name)
        || name.StartsWith("Logging:", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A failure of the options validation rewritten in the names people set. The DataAnnotations wrapper
    /// ("DataAnnotation validation failed for 'OrchestratorOptions' members: 'AgentNice' with the error: 'The field
    /// AgentNice must be between 0 and 19.'") becomes "AGENT_NICE must be between 0 and 19".
    /// </summary>
    public static string Plain(string failure)
    {
        var inner = DataAnnotationFailure().Match(failure) is { Success: true } wrapped ? wrapped.Groups[1].Value : failure;
        var named = FieldName().Replace(inner, m => ByProperty.Value.TryGetValue(m.Groups[1].Value, out var name) ? name : m.Groups[1].Value);
        return named.TrimEnd('.');
    }

    [GeneratedRegex(@"^DataAnnotation validation failed for '\w+' members: '\w+' with the error: '(.*)'\.?$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();

    [GeneratedRegex(@"The field (\w+)")]
    private static partial Regex FieldName();
}
