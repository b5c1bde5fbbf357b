using System.Net;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.ModelGateway;
using Mosaic.Orchestrator.Tests.Support;

namespace Mosaic.Orchestrator.Tests.ModelGateway;

/// <summary>The price table (MODEL_PRICES over the built-in one), the reset a rate limit names, and the settings' checks.</summary>
public sealed class ModelPricesTests
{
    [Theory]
    [InlineData("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("claude-opus-4-5", "claude-opus-4-5")]
    [InlineData("claude-opus-4-1-20250805", "claude-opus-4-1")]
    [InlineData("claude-haiku-4-5-20251001", "claude-haiku-4-5")]
    [InlineData("claude-3-5-haiku-20241022", "claude-3-5-haiku")]
    [InlineData("some-new-model", "*")]
    [InlineData(null, "*")]
    public void A_model_is_priced_by_the_longest_entry_it_starts_with(string? model, string entry) =>
        Assert.Equal(entry, ModelPrices.Load(null).For(model).Entry);

    [Fact]
    public void Cost_is_exact_in_micro_dollars_and_an_unknown_model_costs_the_most()
    {
        var prices = ModelPrices.Load(null);
        // Sonnet 4.5: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million tokens.
        Assert.Equal(3_000_000 + 15_000_000 + 300_000 + 3_750_000, prices.For("claude-sonnet-4-5").Price.MicroUsd(new TokenUsage(1_000_000, 1_000_000, 1_000_000, 1_000_000)));
        Assert.Equal(600, prices.For("claude-sonnet-4-5").Price.MicroUsd(new TokenUsage(100, 20, 0, 0)));
        var dearest = ModelPrices.Defaults.Values.Max(p => p.Output);
        Assert.Equal(dearest, prices.For("claude-next-generation").Price.Output);
    }

    [Fact]
    public void Model_prices_replace_and_add_entries_inline_or_from_a_file()
    {
        var inline = ModelPrices.Load("""{"claude-sonnet-4-5": {"input": 1, "output": 2}, "my-model": {"input": 4, "output": 8, "cacheRead": 0, "cacheWrite": 0}, "*": {"input": 100, "output": 100}}""");
        Assert.Equal(new ModelPrice(1, 2, 0.1, 1.25), inline.For("claude-sonnet-4-5-20250929").Price);
        Assert.Equal(new ModelPrice(4, 8, 0, 0), inline.For("my-model-v2").Price);
        Assert.Equal(100, inline.For("unknown").Price.Input);
        Assert.Equal(15, inline.For("claude-opus-4-1").Price.Input); // the rest of the built-in table stays

        var file = Path.Combine(TempDirectory.Create("prices"), "prices.json");
        File.WriteAllText(file, """{"claude-haiku-4-5": {"input": 0.5, "output": 2.5, "cacheRead": 0.05, "cacheWrite": 0.6}}""");
        Assert.Equal(new ModelPrice(0.5, 2.5, 0.05, 0.6), ModelPrices.Load(file).For("claude-haiku-4-5").Price);
    }

    [Theory]
    [InlineData("/no/such/prices.json", "neither JSON nor a file")]
    [InlineData("{\"m\": {\"input\": -1, \"output\": 2}}", "'m' needs non-negative numbers")]
    [InlineData("{\"m\": {\"output\": 2}}", "'m' needs")]
    [InlineData("{not json", "not valid JSON")]
    public void A_bad_price_table_stops_the_start_naming_the_setting(string setting, string problem)
    {
        var result = new OrchestratorOptionsValidator().Validate(null, new OrchestratorOptions { ModelPrices = setting });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("MODEL_PRICES:", StringComparison.Ordinal) && f.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void Budgets_without_the_gateway_stop_the_start()
    {
        var result = new OrchestratorOptionsValidator().Validate(null, new OrchestratorOptions { ModelGateway = false, DailyMaxCostUsd = 5 });
        Assert.Contains(result.Failures!, f => f.Contains("need the model gateway", StringComparison.Ordinal));
        Assert.True(new OrchestratorOptionsValidator().Validate(null, new OrchestratorOptions { DailyMaxCostUsd = 5, AgentMaxCostUsd = 1, TaskMaxCostUsd = 2 }).Succeeded);
    }

    [Fact]
    public void A_rate_limit_resets_when_retry_after_says_else_at_the_latest_exhausted_limit()
    {
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        using var retryAfter = new HttpResponseMessage((HttpStatusCode)429);
        retryAfter.Headers.TryAddWithoutValidation("retry-after", "3");
        Assert.Equal(now.AddSeconds(3), RateLimitReset.From(retryAfter, now));

        using var headers = new HttpResponseMessage((HttpStatusCode)429);
        headers.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-remaining", "5");
        headers.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-reset", "2026-12-04T12:05:00Z");
        headers.Headers.TryAddWithoutValidation("anthropic-ratelimit-tokens-remaining", "0");
        headers.Headers.TryAddWithoutValidation("anthropic-ratelimit-tokens-reset", "2026-12-04T12:00:40Z");
        headers.Headers.TryAddWithoutValidation("anthropic-ratelimit-output-tokens-remaining", "0");
        headers.Headers.TryAddWithoutValidation("anthropic-ratelimit-output-tokens-reset", "2026-12-04T12:00:20Z");
        Assert.Equal(now.AddSeconds(40), RateLimitReset.From(headers, now));

        using var none = new HttpResponseMessage((HttpStatusCode)529);
        Assert.Null(RateLimitReset.From(none, now));
    }
}
