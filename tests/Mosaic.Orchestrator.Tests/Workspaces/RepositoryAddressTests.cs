using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Tests.Workspaces;

public sealed class RepositoryAddressTests
{
    [Theory]
    [InlineData("https://github.com/mosaic/stack.git")]
    [InlineData("http://127.0.0.1:3000/team/app.git")]
    [InlineData("ssh://git@example.com:2222/team/app.git")]
    [InlineData("git://127.0.0.1/app.git")]
    [InlineData("git@github.com:mosaic/stack.git")]
    [InlineData("example.com:team/app.git")]
    public void Network_addresses_pass(string address) => Assert.Null(RepositoryAddress.Check(address, allowLocal: false));

    [Theory]
    [InlineData("/srv/git/app.git", "ALLOW_LOCAL_REPOSITORIES")]
    [InlineData("./app", "ALLOW_LOCAL_REPOSITORIES")]
    [InlineData("file:///srv/git/app.git", "ALLOW_LOCAL_REPOSITORIES")]
    [InlineData("ext::sh -c id", "whitespace")]
    [InlineData("ext::sh%20-c%20id", "transports")]
    [InlineData("fd::17", "transports")]
    [InlineData("--upload-pack=evil", "'-'")]
    [InlineData("-oProxyCommand=evil", "'-'")]
    [InlineData("https://host/a\nb", "control")]
    [InlineData("ftp://example.com/app.git", "scheme 'ftp'")]
    [InlineData("", "empty")]
    [InlineData("just-a-name", "must be")]
    [InlineData("https://", "valid URL")]
    public void Hostile_or_local_addresses_are_refused_with_a_reason(string address, string reason)
    {
        var problem = RepositoryAddress.Check(address, allowLocal: false);
        Assert.NotNull(problem);
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void Overlong_addresses_are_refused() =>
        Assert.Contains("2048", RepositoryAddress.Check("https://h/" + new string('a', 2100), false));

    [Theory]
    [InlineData("/srv/git/app.git")]
    [InlineData("file:///srv/git/app.git")]
    [InlineData("../app")]
    public void Local_addresses_pass_when_allowed(string address) => Assert.Null(RepositoryAddress.Check(address, allowLocal: true));

    [Fact]
    public void Credentials_are_redacted()
    {
        Assert.Equal("https://***@github.com/a/b.git", RepositoryAddress.Redact("https://user:ghp_secret@github.com/a/b.git"));
        Assert.Equal("git@github.com:a/b.git", RepositoryAddress.Redact("git@github.com:a/b.git"));
    }

    [Theory]
    [InlineData("main")]
    [InlineData("release/2026.11")]
    [InlineData("feature/US-001_x")]
    public void Good_branch_names_pass(string name) => Assert.Null(BranchName.Check(name));

    [Theory]
    [InlineData("")]
    [InlineData("-evil")]
    [InlineData("a..b")]
    [InlineData("a b")]
    [InlineData("a~1")]
    [InlineData("a^")]
    [InlineData("a:b")]
    [InlineData("a?")]
    [InlineData("a*")]
    [InlineData("a[")]
    [InlineData("a\\b")]
    [InlineData("x/.hidden")]
    [InlineData("x.lock")]
    [InlineData("x/")]
    [InlineData("x.")]
    [InlineData("@")]
    [InlineData("a@{1}")]
    [InlineData("a//b")]
    [InlineData("/a")]
    [InlineData("a\u0001")]
    public void Bad_branch_names_are_refused(string name) => Assert.NotNull(BranchName.Check(name));

    [Fact]
    public void Overlong_branch_names_are_refused() => Assert.NotNull(BranchName.Check(new string('a', 256)));
}
