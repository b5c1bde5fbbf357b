using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mosaic.Orchestrator.Gates;

/// <summary>How to run one gate: a shell command in the worktree, its time limit, and for coverage the report to read.</summary>
public sealed record GateCommand(string Command, int? TimeoutSeconds, string? Report, double? Threshold);

public sealed class GateConfigException(string message) : Exception(message);

/// <summary>The orchestrator's gate configuration: commands for every repository, and per repository URL.</summary>
public sealed record GatesConfig(IReadOnlyDictionary<string, GateCommand> Defaults, IReadOnlyDictionary<string, IReadOnlyDictionary<string, GateCommand>> Repositories);

/// <summary>
/// Reads gate declarations from YAML: the repository's `.mosaic/gates.yml` (read at the base commit) and the
/// orchestrator's GATES_CONFIG. Shape of both:
/// <code>
/// gates:
///   tests: { command: "dotnet test", timeout: 600 }
///   coverage: { command: "./coverage.sh", report: coverage.cobertura.xml, threshold: 85 }
/// </code>
/// GATES_CONFIG has `defaults: {gates: ...}` and `repositories: {"&lt;url&gt;": {gates: ...}}`.
/// </summary>
public static class GatesFile
{
    public const string RepositoryPath = ".mosaic/gates.yml";
    private const int MaxBytes = 256 * 1024;

    public static IReadOnlyDictionary<string, GateCommand> LoadRepository(string yaml)
    {
        var root = Root(yaml);
        return root is null ? new Dictionary<string, GateCommand>() : Gates(root, "");
    }

    public static GatesConfig LoadConfig(string yaml)
    {
        var root = Root(yaml);
        if (root is null)
        {
            return new GatesConfig(new Dictionary<string, GateCommand>(), new Dictionary<string, IReadOnlyDictionary<string, GateCommand>>());
        }

        var defaults = Child(root, "defaults") is YamlMappingNode d ? Gates(d, "defaults.") : new Dictionary<string, GateCommand>();
        var repositories = new Dictionary<string, IReadOnlyDictionary<string, GateCommand>>(StringComparer.Ordinal);
        if (Child(root, "repositories") is { } repos)
        {
            if (repos is not YamlMappingNode map)
            {
                throw new GateConfigException("repositories must be a mapping of repository URL to {gates: ...}");
            }

            foreach (var (key, value) in map.Children)
            {
                var url = Scalar(key, "repositories key");
                repositories[url] = value is YamlMappingNode repo ? Gates(repo, $"repositories.{url}.") : throw new GateConfigException($"repositories.{url} must be a mapping");
            }
        }

        return new GatesConfig(defaults, repositories);
    }

    private static YamlMappingNode? Root(string yaml)
    {
        if (yaml.Length > MaxBytes)
        {
            throw new GateConfigException($"the file is larger than {MaxBytes / 1024} KiB");
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new GateConfigException($"not valid YAML: {ex.Message}");
        }

        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode as YamlMappingNode ?? throw new GateConfigException("the top level must be a mapping");
    }

    private static Dictionary<string, GateCommand> Gates(YamlMappingNode parent, string at)
    {
        var gates = new Dictionary<string, GateCommand>(StringComparer.Ordinal);
        if (Child(parent, "gates") is not { } node)
        {
            return gates;
        }

        if (node is not YamlMappingNode map)
        {
            throw new GateConfigException($"{at}gates must be a mapping of gate name to {{command, timeout}}");
        }

        foreach (var (key, value) in map.Children)
        {
            var name = Scalar(key, $"{at}gates key");
            if (GateCatalog.Check([name]) is { } problem)
            {
                throw new GateConfigException($"{at}gates: {problem}");
            }

            gates[name] = value switch
            {
                YamlScalarNode command => new GateCommand(Scalar(command, $"{at}gates.{name}"), null, null, null),
                YamlMappingNode entry => new GateCommand(
                    Child(entry, "command") is { } c ? Scalar(c, $"{at}gates.{name}.command") : throw new GateConfigException($"{at}gates.{name}.command is required"),
                    Number(entry, "timeout", $"{at}gates.{name}") is { } t ? (int)Math.Clamp(t, 1, 86400) : null,
                    Child(entry, "report") is { } r ? Scalar(r, $"{at}gates.{name}.report") : null,
                    Number(entry, "threshold", $"{at}gates.{name}") is { } th and >= 0 and <= 100 ? th
                        : Child(entry, "threshold") is null ? null : throw new GateConfigException($"{at}gates.{name}.threshold must be 0-100")),
                _ => throw new GateConfigException($"{at}gates.{name} must be a command or {{command, timeout}}"),
            };
            if (gates[name].Command.Trim().Length == 0)
            {
                throw new GateConfigException($"{at}gates.{name}.command is empty");
            }
        }

        return gates;
    }

    private static YamlNode? Child(YamlMappingNode map, string name) =>
        map.Children.TryGetValue(new YamlScalarNode(name), out var value) ? value : null;

    private static string Scalar(YamlNode node, string at) =>
        node is YamlScalarNode { Value: { } value } ? value : throw new GateConfigException($"{at} must be a string");

    private static double? Number(YamlMappingNode map, string name, string at) =>
        Child(map, name) switch
        {
            null => null,
            YamlScalarNode { Value: { } v } when double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n) => n,
            _ => throw new GateConfigException($"{at}.{name} must be a number"),
        };
}
