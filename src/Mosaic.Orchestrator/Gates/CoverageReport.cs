using System.Globalization;
using System.Xml;

namespace Mosaic.Orchestrator.Gates;

/// <summary>Line coverage from a Cobertura XML report (line-rate of the root) or an lcov tracefile (sum of LH over sum of LF).</summary>
public static class CoverageReport
{
    public static double? LinePercent(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('<'))
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null };
            using var reader = XmlReader.Create(new StringReader(text), settings);
            try
            {
                while (reader.Read())
                {
                    if (reader.NodeType == XmlNodeType.Element && reader.Name == "coverage")
                    {
                        return reader.GetAttribute("line-rate") is { } rate && double.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                            ? Math.Round(value * 100, 2)
                            : null;
                    }
                }
            }
            catch (XmlException)
            {
                return null;
            }

            return null;
        }

        long found = 0, hit = 0;
        var any = false;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("LF:", StringComparison.Ordinal) && long.TryParse(line.AsSpan(3).Trim(), out var lf))
            {
                found += lf;
                any = true;
            }
            else if (line.StartsWith("LH:", StringComparison.Ordinal) && long.TryParse(line.AsSpan(3).Trim(), out var lh))
            {
                hit += lh;
            }
        }

        return !any ? null : found == 0 ? 100 : Math.Round(100.0 * hit / found, 2);
    }
}
