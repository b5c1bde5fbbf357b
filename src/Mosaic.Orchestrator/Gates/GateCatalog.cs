using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Gates;

/// <summary>The gates SPEC names, which phase each belongs to, and which run under each profile.</summary>
public static class GateCatalog
{
    public const string Typecheck = "typecheck";
    public const string Lint = "lint";
    public const string Tests = "tests";
    public const string Coverage = "coverage";
    public const string Build = "build";
    public const string Integration = "integration";
    public const string AiReview = "ai-review";

    public const string PreCommit = "pre-commit";
    public const string PostCommit = "post-commit";

    /// <summary>In running order: the quick pre-commit checks first, then the slower post-commit ones.</summary>
    public static readonly string[] All = [Typecheck, Lint, Tests, Coverage, Build, Integration, AiReview];

    public static string PhaseOf(string gate) => gate is Typecheck or Lint or Tests ? PreCommit : PostCommit;

    public static IReadOnlyList<string> For(GateProfile profile, IReadOnlyList<string> custom) => profile switch
    {
        GateProfile.Strict => All,
        GateProfile.Standard => [Typecheck, Lint, Tests, Coverage],
        GateProfile.Minimal => [Tests],
        _ => [.. All.Where(custom.Contains)],
    };

    /// <summary>Null when every name is a known gate, else the message naming the unknown ones.</summary>
    public static string? Check(IEnumerable<string> names)
    {
        var unknown = names.Where(n => !All.Contains(n)).ToList();
        return unknown.Count == 0 ? null : $"unknown gates: {string.Join(", ", unknown)} (known: {string.Join(", ", All)})";
    }
}
