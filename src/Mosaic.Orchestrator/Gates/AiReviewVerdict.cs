using System.Text;
using System.Text.Json;

namespace Mosaic.Orchestrator.Gates;

/// <summary>The reviewer's answer: the last JSON object in its final text that has an "approved" field.</summary>
public sealed record AiReviewVerdict(bool Approved, double Confidence, IReadOnlyList<string> Findings)
{
    public static AiReviewVerdict? Find(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        for (var start = text.LastIndexOf('{'); start >= 0; start = start == 0 ? -1 : text.LastIndexOf('{', start - 1))
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text[start..]));
            JsonDocument document;
            try
            {
                if (!JsonDocument.TryParseValue(ref reader, out var parsed))
                {
                    continue;
                }

                document = parsed;
            }
            catch (JsonException)
            {
                continue;
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("approved", out var approved) && approved.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    var confidence = root.TryGetProperty("confidence", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetDouble() : 0;
                    var findings = root.TryGetProperty("findings", out var f) && f.ValueKind == JsonValueKind.Array
                        ? f.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToList()
                        : [];
                    return new AiReviewVerdict(approved.GetBoolean(), confidence, findings);
                }
            }
        }

        return null;
    }
}
