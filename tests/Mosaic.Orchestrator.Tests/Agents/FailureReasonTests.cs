using System.Text.RegularExpressions;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.Agents;

public sealed class FailureReasonTests
{
    /// <summary>The README's list of `reason` codes is the operators' reference: it must name exactly the codes the service writes.</summary>
    [Fact]
    public void The_readme_lists_exactly_the_reasons_the_service_can_write()
    {
        var readme = File.ReadAllText(Checkout.File("README.md"));
        var list = Regex.Match(readme, @"`reason` is\s+machine-readable \((?<list>[^)]*)\)", RegexOptions.Singleline);
        Assert.True(list.Success, "the README has no reason list");
        var documented = Regex.Matches(list.Groups["list"].Value, "`([^`]+)`").Select(m => m.Groups[1].Value).ToHashSet();

        Assert.Equal(FailureReason.Known.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }

    /// <summary>docs/attempt.md's table gives each reason's policy; it must say what the code does.</summary>
    [Fact]
    public void The_policy_table_in_the_docs_matches_the_code()
    {
        var doc = File.ReadAllText(Checkout.File("docs", "attempt.md"));
        var rows = Regex.Matches(doc, @"^\| `(?<code>[^`]+)` \| (?<transient>yes|no) \| (?<fixable>yes|no) \|", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups["code"].Value, m => (Transient: m.Groups["transient"].Value == "yes", Fixable: m.Groups["fixable"].Value == "yes"));

        Assert.Equal(FailureReason.Known.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var reason in typeof(FailureReason).GetFields().Where(f => f.FieldType == typeof(FailureReason)).Select(f => (FailureReason)f.GetValue(null)!))
        {
            Assert.Equal((reason.Transient, reason.Fixable), rows[reason.Code]);
        }

        Assert.Equal((false, true), rows["gate-failed:<gate>"]);
        Assert.Equal((true, false), rows["gate-unavailable:<gate>"]);
    }

    [Fact]
    public void Gate_reasons_carry_their_policy()
    {
        Assert.Equal(new FailureReason("gate-failed:tests", Transient: false, Fixable: true), FailureReason.GateFailed("tests"));
        Assert.False(FailureReason.GateFailed("config", fixable: false).Fixable);
        Assert.True(FailureReason.GateUnavailable("ai-review").Transient);
        Assert.True(FailureReason.Shutdown.Transient);
        Assert.False(FailureReason.SecretsDetected.Transient);
    }
}
