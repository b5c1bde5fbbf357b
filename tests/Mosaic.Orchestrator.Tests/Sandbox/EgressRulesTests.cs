using Mosaic.Orchestrator.Sandbox;

namespace Mosaic.Orchestrator.Tests.Sandbox;

/// <summary>SANDBOX_EGRESS_ALLOW as the proxy reads it: forms, normalisation, and what a bad entry says.</summary>
public sealed class EgressRulesTests
{
    [Fact]
    public void A_host_without_a_port_allows_https_and_http_only()
    {
        var rules = EgressRules.Parse("registry.npmjs.org");

        Assert.True(rules.Allows("registry.npmjs.org", 443));
        Assert.True(rules.Allows("registry.npmjs.org", 80));
        Assert.False(rules.Allows("registry.npmjs.org", 22));
        Assert.False(rules.Allows("npmjs.org", 443));
        Assert.False(rules.Allows("evil.registry.npmjs.org", 443));
    }

    [Fact]
    public void A_port_rule_allows_that_port_only()
    {
        var rules = EgressRules.Parse("git.example.com:8443, [2001:db8::1]:9000");

        Assert.True(rules.Allows("git.example.com", 8443));
        Assert.False(rules.Allows("git.example.com", 443));
        Assert.True(rules.Allows("[2001:db8::1]", 9000));
        Assert.True(rules.Allows("[2001:0db8:0:0::1]", 9000));
        Assert.False(rules.Allows("[2001:db8::1]", 443));
    }

    [Fact]
    public void A_wildcard_matches_every_subdomain_but_not_the_domain_or_a_lookalike()
    {
        var rules = EgressRules.Parse("*.githubusercontent.com, *.example.org:8080");

        Assert.True(rules.Allows("raw.githubusercontent.com", 443));
        Assert.True(rules.Allows("a.b.githubusercontent.com", 80));
        Assert.False(rules.Allows("githubusercontent.com", 443));
        Assert.False(rules.Allows("evilgithubusercontent.com", 443));
        Assert.False(rules.Allows("githubusercontent.com.evil.net", 443));
        Assert.True(rules.Allows("x.example.org", 8080));
        Assert.False(rules.Allows("x.example.org", 443));
    }

    [Fact]
    public void Names_compare_without_case_trailing_dots_or_unicode_spelling()
    {
        var rules = EgressRules.Parse("API.Example.COM., bücher.example");

        Assert.True(rules.Allows("api.example.com", 443));
        Assert.True(rules.Allows("api.EXAMPLE.com.", 443));
        Assert.True(rules.Allows("xn--bcher-kva.example", 443));
        Assert.True(rules.Allows("BÜCHER.example", 443));
        Assert.Contains("xn--bcher-kva.example:443", rules.Entries);
    }

    [Fact]
    public void An_ip_address_is_reached_only_when_that_address_is_listed()
    {
        var byName = EgressRules.Parse("localhost, *.example.com");
        Assert.False(byName.Allows("127.0.0.1", 443));
        Assert.False(byName.Allows("2130706433", 443));
        Assert.False(byName.Allows("[::1]", 443));

        var byAddress = EgressRules.Parse("127.0.0.1:8080, [::1]");
        Assert.True(byAddress.Allows("127.0.0.1", 8080));
        Assert.True(byAddress.Allows("127.1", 8080));         // the same address, however it is spelled
        Assert.True(byAddress.Allows("2130706433", 8080));
        Assert.True(byAddress.Allows("0x7f.0.0.1", 8080));
        Assert.False(byAddress.Allows("127.0.0.2", 8080));
        Assert.False(byAddress.Allows("localhost", 8080));
        Assert.True(byAddress.Allows("[::1]", 443));
    }

    [Fact]
    public void The_always_allowed_endpoints_join_the_list_and_none_allows_nothing()
    {
        var rules = EgressRules.Parse("", [EgressRules.ModelEndpoint(null)]);
        Assert.True(rules.Allows("api.anthropic.com", 443));
        Assert.False(rules.Allows("api.anthropic.com", 80));
        Assert.Equal(["api.anthropic.com:443"], rules.Entries);

        Assert.False(EgressRules.None.Allows("api.anthropic.com", 443));
        Assert.Empty(EgressRules.None.Entries);
        Assert.Empty(EgressRules.Parse(" , ,").Entries);
    }

    [Theory]
    [InlineData(null, "api.anthropic.com:443")]
    [InlineData("http://127.0.0.1:5000/", "127.0.0.1:5000")]
    [InlineData("https://Models.Example.com/anthropic", "models.example.com:443")]
    [InlineData("http://[::1]:7000", "[::1]:7000")]
    public void The_model_endpoint_comes_from_the_base_url(string? baseUrl, string expected) =>
        Assert.Equal(expected, EgressRules.ModelEndpoint(baseUrl));

    [Theory]
    [InlineData("https://example.com", "not a URL")]
    [InlineData("example.com/path", "not a URL")]
    [InlineData("*", "'*' may only open an entry")]
    [InlineData("*.com", "too broad")]
    [InlineData("foo.*.example.com", "'*' may only open an entry")]
    [InlineData("*example.com", "'*' may only open an entry")]
    [InlineData("example.com:0", "not a port")]
    [InlineData("example.com:65536", "not a port")]
    [InlineData("example.com:https", "not a port")]
    [InlineData("::1", "must be in brackets")]
    [InlineData("[::1", "closing ']'")]
    [InlineData("[example.com]", "not an IPv6 address")]
    [InlineData("*.10.0.0.1", "not IP addresses")]
    [InlineData("exa mple.com", "not a host name")]
    [InlineData("user@example.com", "not a host name")]
    public void A_bad_entry_is_refused_with_a_message_naming_it(string entry, string why)
    {
        var ok = EgressRules.TryParse($"pypi.org, {entry}", null, out _, out var error);

        Assert.False(ok);
        Assert.Contains($"SANDBOX_EGRESS_ALLOW entry '{entry}'", error);
        Assert.Contains(why, error);
        Assert.Equal(error, Assert.Throws<FormatException>(() => EgressRules.Parse($"pypi.org, {entry}")).Message);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.20.0.1", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("93.184.215.14", false)]
    [InlineData("2606:4700::6810:85e5", false)]
    public void A_wildcard_never_leads_to_this_host_or_a_private_network(string address, bool nonPublic) =>
        Assert.Equal(nonPublic, EgressHost.IsNonPublic(IPAddress.Parse(address)));
}
