using System.Formats.Tar;
using System.IO.Compression;
using SharpCompress.Archives.SevenZip;
using SharpCompress.Compressors.Xz;
using SharpCompress.Readers;
using ZstdStream = SharpCompress.Compressors.ZStandard.DecompressionStream;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>
/// Opens archives and compressed files found in a scan — gzip, xz, zstd, bzip2 streams and zip, tar, 7z archives,
/// recognised by their first bytes, not their names — and hands each file inside to <see cref="IArchiveSink.ScanFile"/>
/// as <c>outer.zip!inner/path</c>. Bounded: <see cref="MaxDepth"/> levels of nesting, <see cref="MaxEntryBytes"/> per
/// file inside, <see cref="MaxExpandedBytes"/> for everything out of one archive, and <see cref="MaxRatio"/> to 1 of
/// expansion. An archive that goes past the size or ratio bounds is a finding of its own (<see cref="BombRuleId"/>):
/// a scan must neither hang on a bomb nor let one hide a key past its bound. Symbolic links inside are listed, never
/// followed. Single-threaded.
/// </summary>
internal sealed class ArchiveScanner
{
    public const string BombRuleId = "archive-bomb";

    public const int MaxDepth = 4;

    public const long MaxEntryBytes = 10 * 1024 * 1024;

    public const long MaxExpandedBytes = 256L * 1024 * 1024;

    /// <summary>Expansion beyond this (over the first MiB) is a bomb: text compresses 5-20 to 1, a bomb thousands.</summary>
    public const long MaxRatio = 1000;

    private enum Format { Gzip, Xz, Zstd, Bzip2, Zip, Tar, SevenZip }

    /// <summary>Whether the content starts like an archive or compressed stream this scanner opens.</summary>
    public static bool IsArchive(ReadOnlySpan<byte> content) => Detect(content) is not null;

    /// <summary>Scans inside <paramref name="content"/>; returns false when it is not an archive.</summary>
    public static bool TryScan(string name, byte[] content, IArchiveSink sink, List<SecretFinding> findings, int depth = 0, string? commit = null)
    {
        if (Detect(content) is not { } format)
        {
            return false;
        }

        var budget = new Budget(content.Length);
        try
        {
            Open(name, content, format, depth, sink, findings, budget);
        }
        catch (BombException bomb)
        {
            findings.Add(Bomb(name, bomb.Message) with { Commit = commit });
        }

        return true;
    }

    private static void Open(string name, byte[] content, Format format, int depth, IArchiveSink sink, List<SecretFinding> findings, Budget budget)
    {
        if (depth >= MaxDepth)
        {
            throw new BombException($"archives nested more than {MaxDepth} deep");
        }

        try
        {
            switch (format)
            {
                case Format.Gzip:
                    Single(name, StripSuffix(name, ".gz", ".tgz", ".tar"), new GZipStream(new MemoryStream(content), CompressionMode.Decompress), depth, sink, findings, budget);
                    break;
                case Format.Xz:
                    Single(name, StripSuffix(name, ".xz", ".txz", ".tar"), new XZStream(new MemoryStream(content)), depth, sink, findings, budget);
                    break;
                case Format.Zstd:
                    Single(name, StripSuffix(name, ".zst", ".tzst", ".tar"), new ZstdStream(new MemoryStream(content), 64 * 1024, checkEndOfStream: false, leaveOpen: false), depth, sink, findings, budget);
                    break;
                case Format.Bzip2:
                    Single(name, StripSuffix(name, ".bz2", ".tbz2", ".tar"), SharpCompress.Compressors.BZip2.BZip2Stream.Create(new MemoryStream(content), SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true), depth, sink, findings, budget);
                    break;
                case Format.Zip:
                    using (var zip = new ZipArchive(new MemoryStream(content), ZipArchiveMode.Read))
                    {
                        foreach (var entry in zip.Entries)
                        {
                            if (entry.FullName.EndsWith('/'))
                            {
                                continue;
                            }

                            // Unix mode in the high bits of the external attributes: 0xA000 is a symbolic link.
                            if (((entry.ExternalAttributes >> 16) & 0xF000) == 0xA000)
                            {
                                sink.Skipped($"{name}!{entry.FullName}: symbolic link inside the archive, not followed");
                                continue;
                            }

                            Entry(name, entry.FullName, entry.Open(), entry.CompressedLength, depth, sink, findings, budget);
                        }
                    }

                    break;
                case Format.Tar:
                    using (var tar = new TarReader(new MemoryStream(content)))
                    {
                        while (tar.GetNextEntry() is { } entry)
                        {
                            if (entry.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                            {
                                sink.Skipped($"{name}!{entry.Name}: {(entry.EntryType == TarEntryType.SymbolicLink ? "symbolic" : "hard")} link to {entry.LinkName} inside the archive, not followed");
                            }
                            else if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile && entry.DataStream is { } data)
                            {
                                Entry(name, entry.Name, data, entry.Length, depth, sink, findings, budget);
                            }
                        }
                    }

                    break;
                case Format.SevenZip:
                    using (var archive = SevenZipArchive.OpenArchive(new MemoryStream(content), new ReaderOptions()))
                    {
                        foreach (var entry in archive.Entries.Where(e => !e.IsDirectory))
                        {
                            Entry(name, entry.Key ?? "?", entry.OpenEntryStream(), Math.Max(1, entry.CompressedSize), depth, sink, findings, budget);
                        }
                    }

                    break;
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or FormatException or NotSupportedException or InvalidOperationException or ArgumentException
            or SharpCompress.Common.ArchiveException or SharpCompress.Compressors.ZStandard.ZstdException)
        {
            // Corrupt, truncated or encrypted: what could be read was scanned; say the rest could not be.
            sink.Skipped($"{name}: cannot read inside the archive ({ex.Message})");
        }
    }

    /// <summary>A compressed stream holds one file: its name is the archive's without the suffix.</summary>
    private static void Single(string name, string inner, Stream stream, int depth, IArchiveSink sink, List<SecretFinding> findings, Budget budget) =>
        Entry(name, inner, stream, budget.Compressed, depth, sink, findings, budget, single: true);

    private static void Entry(string archive, string entryName, Stream stream, long compressedLength, int depth, IArchiveSink sink, List<SecretFinding> findings, Budget budget, bool single = false)
    {
        var name = single ? $"{archive}!{Path.GetFileName(entryName)}" : $"{archive}!{entryName}";
        byte[] bytes;
        bool truncated;
        using (stream)
        {
            // A compressed stream's one file is often a tar of many files: it may be as large as the whole budget.
            bytes = ReadBounded(stream, compressedLength, budget, name, single ? MaxExpandedBytes : MaxEntryBytes, out truncated);
        }

        if (Detect(bytes) is { } inner)
        {
            Open(name, bytes, inner, depth + 1, sink, findings, budget);
            return;
        }

        if (truncated || bytes.Length > MaxEntryBytes)
        {
            sink.Skipped($"{name}: over {MaxEntryBytes} bytes inside the archive; scanned its first {MaxEntryBytes}");
            bytes = bytes[..(int)Math.Min(bytes.Length, MaxEntryBytes)];
        }

        sink.ScanFile(name, bytes);
    }

    private static byte[] ReadBounded(Stream stream, long compressedLength, Budget budget, string name, long keep, out bool truncated)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        truncated = false;
        long total = 0;
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            total += read;
            budget.Expanded += read;
            if (budget.Expanded > MaxExpandedBytes)
            {
                throw new BombException($"expands past {MaxExpandedBytes / (1024 * 1024)} MiB (at {name})");
            }

            if (total > 1024 * 1024 && total > Math.Max(1, compressedLength) * MaxRatio)
            {
                throw new BombException($"expands more than {MaxRatio}:1 (at {name})");
            }

            if (total > keep)
            {
                truncated = true;
                // Read on (counted against the bounds above, so a bomb is still caught) but keep only the first part.
                buffer.Write(chunk, 0, (int)Math.Max(0, Math.Min(read, keep - (total - read))));
                continue;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static Format? Detect(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        {
            return Format.Gzip;
        }

        if (b.StartsWith((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00]))
        {
            return Format.Xz;
        }

        if (b.StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD]))
        {
            return Format.Zstd;
        }

        if (b.Length >= 10 && b.StartsWith("BZh"u8) && b[3] is >= (byte)'1' and <= (byte)'9' && b[4..10].SequenceEqual((ReadOnlySpan<byte>)[0x31, 0x41, 0x59, 0x26, 0x53, 0x59]))
        {
            return Format.Bzip2;
        }

        if (b.StartsWith("PK\x03\x04"u8) || b.StartsWith("PK\x05\x06"u8))
        {
            return Format.Zip;
        }

        if (b.StartsWith((ReadOnlySpan<byte>)[(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C]))
        {
            return Format.SevenZip;
        }

        return b.Length >= 262 && b[257..262].SequenceEqual("ustar"u8) ? Format.Tar : null;
    }

    private static string StripSuffix(string name, string suffix, string shortTar, string tar)
    {
        var file = Path.GetFileName(name.AsSpan(name.LastIndexOf('!') + 1).ToString());
        if (file.EndsWith(shortTar, StringComparison.OrdinalIgnoreCase))
        {
            return file[..^shortTar.Length] + tar;
        }

        return file.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && file.Length > suffix.Length ? file[..^suffix.Length] : file;
    }

    private static SecretFinding Bomb(string name, string why) => new()
    {
        RuleId = BombRuleId,
        Description = $"Archive past the scan's bounds, not scanned past them: {why}",
        File = name,
        Line = 1,
        Column = 0,
        Preview = "***",
        Fingerprint = SecretFingerprint.Compute(BombRuleId, name, "bomb"),
    };

    private sealed class Budget(long compressed)
    {
        public long Compressed { get; } = compressed;

        public long Expanded { get; set; }
    }

    private sealed class BombException(string message) : Exception(message);
}

/// <summary>Where the files inside an archive go: scanned like files on disk, or listed as skipped.</summary>
internal interface IArchiveSink
{
    void ScanFile(string name, byte[] content);

    void Skipped(string reason);
}
