using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>Keeps what a component logs, for tests that check an operator is told something.</summary>
public sealed class LogCollector<T> : ILogger<T>
{
    private readonly ConcurrentQueue<string> _messages = new();

    public IReadOnlyList<string> Messages => [.. _messages];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _messages.Enqueue($"{logLevel}: {formatter(state, exception)}");
}
