using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Mosaic.Orchestrator.Configuration;

/// <summary>
/// Every problem with the settings, one plain line each ("AGENT_NICE must be between 0 and 19 (got 30)"), found
/// before the host is built. The host's own checks (ValidateOnStart) speak of C# properties, stop at the first
/// value that does not convert, and come too late for ORCHESTRATOR_PORT: Kestrel is configured from it while the
/// application is built, and a port out of range threw there as an unhandled exception.
/// </summary>
public static class SettingsCheck
{
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        var problems = new List<string>();
        foreach (var type in SettingNames.OptionTypes)
        {
            problems.AddRange(CheckValues(type, configuration));
        }

        if (problems.Count > 0)
        {
            // The cross-setting checks need every value converted; report the single-value problems first.
            return problems;
        }

        problems.AddRange(Validate(configuration, new OrchestratorOptionsValidator()));
        problems.AddRange(Validate(configuration, new Runtimes.ClaudeCode.ClaudeCodeOptionsValidator()));
        problems.AddRange(Validate(configuration, new Gates.GateOptionsValidator()));
        problems.AddRange(Validate(configuration, new Sandbox.SandboxOptionsValidator()));
        return problems;
    }

    /// <summary>Each setting of one options class: does its text convert (as the binder converts it), and is it in range.</summary>
    private static IEnumerable<string> CheckValues(Type type, IConfiguration configuration)
    {
        var defaults = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties())
        {
            if (property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name is not { } name)
            {
                continue;
            }

            var text = configuration[name];
            if (!TryConvert(configuration, property, name, defaults, out var value))
            {
                yield return $"{name} must be {Kind(property.PropertyType)} (got '{text}')";
                continue;
            }

            foreach (var rule in property.GetCustomAttributes<ValidationAttribute>())
            {
                if (!rule.IsValid(value))
                {
                    yield return rule switch
                    {
                        RangeAttribute range => $"{name} must be between {Show(range.Minimum)} and {Show(range.Maximum)} (got {text ?? Show(value!)})",
                        RequiredAttribute => $"{name} must not be empty",
                        _ => SettingNames.Plain(rule.FormatErrorMessage(name)),
                    };
                }
            }
        }
    }

    /// <summary>The value as the binder would convert it (invariant culture), or the default when it is not set.</summary>
    private static bool TryConvert(IConfiguration configuration, PropertyInfo property, string name, object defaults, out object? value)
    {
        try
        {
            value = configuration[name] is null ? property.GetValue(defaults) : configuration.GetValue(property.PropertyType, name);
            return true;
        }
        catch (InvalidOperationException)
        {
            value = null;
            return false;
        }
    }

    private static IEnumerable<string> Validate<T>(IConfiguration configuration, IValidateOptions<T> validator) where T : class, new()
    {
        var options = configuration.Get<T>() ?? new T();
        return validator.Validate(Options.DefaultName, options) is { Failed: true } result
            ? result.Failures.Select(SettingNames.Plain)
            : [];
    }

    private static string Kind(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(int) || t == typeof(long) => "a whole number",
        var t when t == typeof(double) => "a number",
        var t when t == typeof(bool) => "true or false",
        var t => $"a {t.Name}",
    };

    private static string Show(object bound) => Convert.ToString(bound, CultureInfo.InvariantCulture) ?? "";
}
