using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Mosaic.Orchestrator.Cli;

namespace Mosaic.Orchestrator.Tests.Cli;

/// <summary>How `serve` runs its host: a start that fails leaves nothing running on services that are gone.</summary>
public sealed class ServeStartupTests
{
    [Fact]
    public async Task A_start_that_fails_stops_the_background_services_it_started_before_disposing_them()
    {
        var events = new Events();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(events);
        builder.Services.AddHostedService<Sweeper>(); // started first, as the retention sweep is
        builder.Services.AddHostedService<FailingStart>(); // then a start that fails, as Kestrel's does on a port in use
        using (var host = builder.Build())
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => ServeStartup.ServeAsync(host));
        }

        Assert.Equal(["stopped", "disposed"], events.Seen);
    }

    private sealed class Events
    {
        private readonly List<string> _seen = [];

        public TaskCompletionSource Running { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<string> Seen
        {
            get
            {
                lock (_seen)
                {
                    return [.. _seen];
                }
            }
        }

        public void Add(string what)
        {
            lock (_seen)
            {
                _seen.Add(what);
            }
        }
    }

    private sealed class Sweeper(Events events) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            events.Running.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Give a sweep that is still busy when it is told to stop the time to reach a store.
                await Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None);
                events.Add("stopped");
            }
        }

        public override void Dispose()
        {
            events.Add("disposed");
            base.Dispose();
        }
    }

    private sealed class FailingStart(Events events) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await events.Running.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken); // the sweep is under way
            throw new InvalidOperationException("port in use");
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
