using System.Globalization;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.ModelGateway;

/// <summary>A model's list price in USD per million tokens: plain input, output, cache reads and cache writes (5-minute cache).</summary>
public sealed record ModelPrice(double Input, double Output, double CacheRead, double CacheWrite)
{
    /// <summary>What <paramref name="tokens"/> cost at this price, in micro-dollars (USD per million tokens times tokens), rounded up.</summary>
    public long MicroUsd(TokenUsage tokens) => (long)Math.Ceiling(
        tokens.Input * Input + tokens.Output * Output + tokens.CacheRead * CacheRead + tokens.CacheCreation * CacheWrite);
}

/// <summary>
/// The price table the gateway meters with. A model is priced by the longest entry its id starts with
/// (<c>claude-sonnet-4-5-20250929</c> by <c>claude-sonnet-4-5</c>); a model no entry names is priced by <c>*</c>, by
/// default the dearest model's price, so an unknown model can never slip under a budget. MODEL_PRICES (a JSON file's
/// path, or the JSON itself) replaces entries of the built-in table and adds new ones:
/// <c>{"claude-sonnet-4-5": {"input": 3, "output": 15, "cacheRead": 0.3, "cacheWrite": 3.75}}</c>; a missing cacheRead
/// is 0.1x input, a missing cacheWrite 1.25x input (the provider's ratios).
/// </summary>
public sealed class ModelPrices
{
    public const string Fallback = "*";

    /// <summary>Anthropic's list prices (USD per million tokens; prompts up to 200k tokens), checked 2026-12.</summary>
    public static readonly IReadOnlyDictionary<string, ModelPrice> Defaults = new Dictionary<string, ModelPrice>(StringComparer.Ordinal)
    {
        ["claude-opus-4-5"] = new(5, 25, 0.50, 6.25),
        ["claude-opus-4-1"] = new(15, 75, 1.50, 18.75),
        ["claude-opus-4"] = new(15, 75, 1.50, 18.75),
        ["claude-3-opus"] = new(15, 75, 1.50, 18.75),
        ["claude-sonnet-4-5"] = new(3, 15, 0.30, 3.75),
        ["claude-sonnet-4"] = new(3, 15, 0.30, 3.75),
        ["claude-3-7-sonnet"] = new(3, 15, 0.30, 3.75),
        ["claude-haiku-4-5"] = new(1, 5, 0.10, 1.25),
        ["claude-3-5-haiku"] = new(0.80, 4, 0.08, 1),
        ["claude-3-haiku"] = new(0.25, 1.25, 0.03, 0.30),
        [Fallback] = new(15, 75, 1.50, 18.75),
    };

    private readonly KeyValuePair<string, ModelPrice>[] _byLength;

    public ModelPrices(IReadOnlyDictionary<string, ModelPrice> table) =>
        _byLength = [.. table.Where(e => e.Key != Fallback).OrderByDescending(e => e.Key.Length), .. table.Where(e => e.Key == Fallback)];

    /// <summary>The entry that prices <paramref name="model"/> (its name, and the price).</summary>
    public (string Entry, ModelPrice Price) For(string? model)
    {
        foreach (var (entry, price) in _byLength)
        {
            if (entry == Fallback || (model is not null && model.StartsWith(entry, StringComparison.OrdinalIgnoreCase)))
            {
                return (entry, price);
            }
        }

        return (Fallback, Defaults[Fallback]);
    }

    /// <summary>The built-in table with MODEL_PRICES over it; throws on a bad setting (checked at start).</summary>
    public static ModelPrices Load(string? setting) =>
        TryLoad(setting, out var prices) is { } problem ? throw new InvalidOperationException("MODEL_PRICES: " + problem) : prices!;

    /// <summary>Null and the table, or what is wrong with <paramref name="setting"/>.</summary>
    public static string? TryLoad(string? setting, out ModelPrices? prices)
    {
        prices = null;
        var table = new Dictionary<string, ModelPrice>(Defaults, StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(setting))
        {
            string json;
            var trimmed = setting.TrimStart();
            if (trimmed.StartsWith('{'))
            {
                json = trimmed;
            }
            else if (File.Exists(setting))
            {
                json = File.ReadAllText(setting);
            }
            else
            {
                return $"'{setting}' is neither JSON nor a file that exists";
            }

            try
            {
                using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return "must be a JSON object of model name to {input, output, cacheRead?, cacheWrite?} (USD per million tokens)";
                }

                foreach (var entry in document.RootElement.EnumerateObject())
                {
                    if (Parse(entry.Value) is not { } price)
                    {
                        return $"'{entry.Name}' needs non-negative numbers input and output (and optionally cacheRead, cacheWrite), in USD per million tokens";
                    }

                    table[entry.Name] = price;
                }
            }
            catch (JsonException ex)
            {
                return $"not valid JSON: {ex.Message}";
            }
        }

        prices = new ModelPrices(table);
        return null;
    }

    private static ModelPrice? Parse(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || Number(value, "input") is not { } input || Number(value, "output") is not { } output)
        {
            return null;
        }

        var cacheRead = value.TryGetProperty("cacheRead", out _) ? Number(value, "cacheRead") : input * 0.1;
        var cacheWrite = value.TryGetProperty("cacheWrite", out _) ? Number(value, "cacheWrite") : input * 1.25;
        return cacheRead is null || cacheWrite is null ? null : new ModelPrice(input, output, cacheRead.Value, cacheWrite.Value);
    }

    private static double? Number(JsonElement holder, string name) =>
        holder.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.GetDouble() is var n && n >= 0 && double.IsFinite(n) ? n : null;

    public static double Usd(long microUsd) => Math.Round(microUsd / 1_000_000.0, 6);

    public static string Format(double usd) => "$" + usd.ToString("0.######", CultureInfo.InvariantCulture);
}
