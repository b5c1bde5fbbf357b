using System.Text.Json;
using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// Reads a spawn request field by field from the JSON document, so every bad field is named in one answer
/// (a typed deserializer stops at the first). Unknown fields are ignored for forward compatibility.
/// </summary>
public static partial class SpawnRequestReader
{
    public const int MaxListItems = 100;
    public const int MaxItemLength = 200;
    public const string InvalidText = "must be valid Unicode text (UTF-8, no lone surrogates)";

    public static SpawnCommand? Read(JsonElement body, bool allowLocalRepositories, Dictionary<string, string[]> errors)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["must be a JSON object"];
            return null;
        }

        var taskId = RequiredString(body, "taskId", "taskId", errors);
        if (taskId is not null && !TaskIdPattern().IsMatch(taskId))
        {
            errors["taskId"] = ["must be 1-128 characters of A-Z a-z 0-9 . _ -"];
        }

        var agentType = Enum<AgentType>(body, "agentType", required: true, errors);
        var gateProfile = Enum<GateProfile>(body, "gateProfile", required: false, errors);
        var priority = 5;
        if (Property(body, "priority") is { } p)
        {
            if (p.ValueKind != JsonValueKind.Number || !p.TryGetInt32(out priority) || priority is < 1 or > 10)
            {
                errors["priority"] = ["must be an integer from 1 to 10"];
            }
        }

        IReadOnlyList<string>? gates = null;
        if (Property(body, "gates") is not null)
        {
            var named = StringList(body, "gates", "gates", errors);
            if (Gates.GateCatalog.Check(named) is { } gatesProblem)
            {
                errors["gates"] = [gatesProblem];
            }
            else if (gateProfile is not (null or GateProfile.Custom))
            {
                errors["gates"] = ["only goes with gateProfile custom"];
            }

            gates = named;
        }

        AgentContext? context = null;
        if (Property(body, "context") is not { ValueKind: JsonValueKind.Object } c)
        {
            errors["context"] = ["is required and must be an object with repository and branch"];
        }
        else
        {
            var repository = RequiredString(c, "repository", "context.repository", errors);
            if (repository is not null && RepositoryAddress.Check(repository, allowLocalRepositories) is { } problem)
            {
                errors["context.repository"] = [problem];
            }

            var branch = RequiredString(c, "branch", "context.branch", errors);
            if (branch is not null && BranchName.Check(branch) is { } branchProblem)
            {
                errors["context.branch"] = [branchProblem];
            }

            var workItems = StringList(c, "workItems", "context.workItems", errors);
            var skills = StringList(c, "skills", "context.skills", errors);
            context = new AgentContext(repository ?? "", branch ?? "", workItems, skills);
        }

        return errors.Count == 0 ? new SpawnCommand(taskId!, agentType!.Value, gates is null ? gateProfile : GateProfile.Custom, priority, context!, gates) : null;
    }

    private static JsonElement? Property(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? RequiredString(JsonElement parent, string name, string field, Dictionary<string, string[]> errors)
    {
        switch (Property(parent, name))
        {
            case null:
                errors[field] = ["is required"];
                return null;
            case { ValueKind: JsonValueKind.String } value:
                return Text(value, field, errors);
            default:
                errors[field] = ["must be a string"];
                return null;
        }
    }

    /// <summary>
    /// A string's text, or null with the field named when it holds no valid text. JsonDocument checks the structure,
    /// not what is inside a string: raw bytes that are not UTF-8 (an encoded lone surrogate ED A0 80, a stray FF) and an
    /// escaped lone surrogate ("\ud800", valid JSON, no valid string) only fail when the string is read, and that
    /// failure is the client's, not a 500.
    /// </summary>
    public static string? Text(JsonElement value, string field, Dictionary<string, string[]> errors)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            errors[field] = [InvalidText];
            return null;
        }
    }

    private static T? Enum<T>(JsonElement parent, string name, bool required, Dictionary<string, string[]> errors) where T : struct, Enum
    {
        switch (Property(parent, name))
        {
            case null when required:
                errors[name] = [$"is required: one of {EnumNames<T>.Allowed}"];
                return null;
            case null:
                return null;
            case { ValueKind: JsonValueKind.String } value:
                var text = Text(value, name, errors);
                if (text is not null && EnumNames<T>.ByName.TryGetValue(text, out var match))
                {
                    return match;
                }

                errors[name] = text is null ? [InvalidText] : [$"must be one of {EnumNames<T>.Allowed}"];
                return null;
            default:
                errors[name] = [$"must be one of {EnumNames<T>.Allowed}"];
                return null;
        }
    }

    // Computed once per enum: a batch reads up to 1,000 bodies, each with two enum fields.
    private static class EnumNames<T> where T : struct, Enum
    {
        public static readonly Dictionary<string, T> ByName =
            System.Enum.GetValues<T>().ToDictionary(v => v.ToString().ToLowerInvariant(), StringComparer.Ordinal);

        public static readonly string Allowed = string.Join(", ", ByName.Keys);
    }

    private static List<string> StringList(JsonElement parent, string name, string field, Dictionary<string, string[]> errors)
    {
        var list = new List<string>();
        if (Property(parent, name) is not { } value)
        {
            return list;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > MaxListItems)
        {
            errors[field] = [$"must be an array of at most {MaxListItems} strings"];
            return list;
        }

        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && Text(item, field, errors) is null)
            {
                return list;
            }

            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 and <= MaxItemLength } text || text.Any(char.IsControl))
            {
                errors[field] = [$"items must be non-empty strings of at most {MaxItemLength} characters without control characters"];
                return list;
            }

            list.Add(text);
        }

        return list;
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,128}\z")] // \z: "$" would let a trailing newline through
    private static partial Regex TaskIdPattern();
}
