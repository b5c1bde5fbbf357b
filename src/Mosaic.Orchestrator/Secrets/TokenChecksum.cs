namespace Mosaic.Orchestrator.Secrets;

/// <summary>The checksums that token formats carry, so a scanner can tell a real token from a made-up one.</summary>
public enum TokenChecksum
{
    None,

    /// <summary>
    /// GitHub's (2021) and npm's token format: prefix, 30 random base62 characters, then the CRC32 of those 30 as 6 base62
    /// digits (0-9A-Za-z, most significant first, padded with 0). Only the 36-character body forms carry it.
    /// </summary>
    GitHubCrc32,
}

internal static class TokenChecksums
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Whether <paramref name="secret"/> passes the checksum (true when the form carries none).</summary>
    public static bool Passes(TokenChecksum checksum, string secret) => checksum switch
    {
        TokenChecksum.GitHubCrc32 => GitHubCrc32(secret),
        _ => true,
    };

    private static bool GitHubCrc32(string secret)
    {
        var underscore = secret.IndexOf('_', StringComparison.Ordinal);
        var body = secret.AsSpan(underscore + 1);
        if (underscore < 0 || body.Length != 36 || body.ContainsAnyExcept(Base62Values))
        {
            return true; // not the checksummed form (a stateless ghs_ JWT, a 76-character ghr_): judged by the regex alone
        }

        return body[30..].SequenceEqual(Encode(Crc32(body[..30])));
    }

    /// <summary>The 6 base62 digits of a CRC32, as GitHub and npm append them.</summary>
    public static string Encode(uint crc)
    {
        Span<char> digits = stackalloc char[6];
        for (var i = 5; i >= 0; i--)
        {
            digits[i] = Base62[(int)(crc % 62)];
            crc /= 62;
        }

        return new string(digits);
    }

    /// <summary>CRC-32 (IEEE 802.3, reflected, as zlib computes it) of ASCII characters.</summary>
    public static uint Crc32(ReadOnlySpan<char> ascii)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var c in ascii)
        {
            crc ^= (byte)c;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    private static readonly System.Buffers.SearchValues<char> Base62Values = System.Buffers.SearchValues.Create(Base62);
}
