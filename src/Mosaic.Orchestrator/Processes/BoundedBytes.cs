namespace Mosaic.Orchestrator.Processes;

/// <summary>Bytes gathered up to a cap (a line being read from a stream): grown as needed, never past the cap.</summary>
public sealed class BoundedBytes(int initialCapacity, int maxBytes)
{
    private byte[] _bytes = new byte[Math.Min(initialCapacity, maxBytes)];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _bytes.AsSpan(0, Length);

    /// <summary>Adds <paramref name="part"/>; false, adding nothing, when it would pass the cap.</summary>
    public bool TryAppend(ReadOnlySpan<byte> part)
    {
        if (Length + part.Length > maxBytes)
        {
            return false;
        }

        if (Length + part.Length > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Min(maxBytes, Math.Max(_bytes.Length * 2, Length + part.Length)));
        }

        part.CopyTo(_bytes.AsSpan(Length));
        Length += part.Length;
        return true;
    }

    public void Clear() => Length = 0;
}
