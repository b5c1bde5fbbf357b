using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Mosaic.Orchestrator.Storage.Embedded;

/// <summary>
/// Serializes documents straight to UTF-8, one after the other into the same buffer, for binding as SQLite text
/// (which copies them): no string per document and no second encoding from UTF-16 to UTF-8 when bound.
/// </summary>
public sealed class Utf8JsonBuffer : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;

    public Utf8JsonBuffer() => _writer = new Utf8JsonWriter(_buffer);

    /// <summary>The document's bytes, valid until the next call.</summary>
    public ReadOnlySpan<byte> Write<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset();
        JsonSerializer.Serialize(_writer, value, typeInfo);
        _writer.Flush();
        return _buffer.WrittenSpan;
    }

    public void Dispose() => _writer.Dispose();
}
