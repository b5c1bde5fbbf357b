using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Killswitch;
using StackExchange.Redis;

namespace Mosaic.Orchestrator.Storage.Valkey;

/// <summary>A message on {prefix}:commands: "stop" asks <see cref="Target"/> to stop a run, "stopped" answers it.</summary>
public sealed record RelayCommand(string Op, string RequestId, string Target, string From, Guid AgentId, bool Found = false);

/// <summary>
/// Kills across instances. The instance that killed the record (already fenced: the runner's next write or lease
/// renewal is refused) asks the instance named in the record's lease, over {prefix}:commands, to stop its run; that
/// instance stops it (its runner ends the process tree and cleans up, as for a local kill) and answers. When the owner
/// is dead (its NODE_ID claim expired) or does not answer within KILL_RELAY_TIMEOUT_SECONDS, this instance cleans up
/// what it can itself (processes carrying the agent's marker on this machine, a workspace here) and publishes
/// agent.cleanup; the dead owner's leftovers are ended when its node starts again.
/// </summary>
public sealed partial class ValkeyKillRelay(
    ValkeyConnection valkey,
    ValkeyInstance instance,
    ActiveRuns runs,
    IAgentStore store,
    ChannelWriter<AgentRecord> cleanupQueue,
    NodeIdentity node,
    IOptions<OrchestratorOptions> options,
    ILogger<ValkeyKillRelay> logger) : BackgroundService, IKillRelay
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _waiting = new();
    private readonly ChannelSubscription _commands = new(valkey, valkey.CommandsChannel);

    public async Task StopRunAsync(AgentRecord killed, AgentRecord prior, CancellationToken cancellationToken)
    {
        if (runs.TryStop(killed.AgentId, StopReason.Killed))
        {
            return;
        }

        if (prior.Lease?.Owner is { } owner && owner != node.Instance)
        {
            try
            {
                if (await instance.IsAliveAsync(owner) && await AskOwnerAsync(owner, killed.AgentId))
                {
                    return; // the owner stopped its run; it ends the processes and cleans up
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // The owner cannot be asked: the kill stands (its lease is gone), so clean up what can be here.
            }

            LogOwnerGone(logger, killed.AgentId, owner);
        }

        await cleanupQueue.WriteAsync(killed, CancellationToken.None);
    }

    private async Task<bool> AskOwnerAsync(string owner, Guid agentId)
    {
        var requestId = Guid.NewGuid().ToString("N");
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[requestId] = answer;
        try
        {
            await _commands.GetAsync();
            await PublishAsync(new RelayCommand("stop", requestId, owner, node.Instance, agentId));
            var timeout = TimeSpan.FromSeconds(options.Value.KillRelayTimeoutSeconds);
            return await answer.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            _waiting.TryRemove(requestId, out _);
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await _commands.TryEarlyAsync();
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var commands = await _commands.GetAsync();
                var message = await commands.ReadAsync(stoppingToken);
                var command = JsonSerializer.Deserialize<RelayCommand>(message.Message.ToString(), OrchestratorJson.Options);
                if (command is null || command.Target != node.Instance)
                {
                    continue;
                }

                if (command.Op == "stopped")
                {
                    _waiting.GetValueOrDefault(command.RequestId)?.TrySetResult(true);
                }
                else if (command.Op == "stop")
                {
                    await StopHereAsync(command);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException)
            {
                LogCommandFailed(logger, ex.Message);
                try
                {
                    await Task.Delay(ValkeyEventRelay.CatchUpInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Another instance killed an agent this instance was running: stop the run (or clean up after it) and answer.</summary>
    private async Task StopHereAsync(RelayCommand command)
    {
        var found = runs.TryStop(command.AgentId, StopReason.Killed);
        if (!found && await store.GetAsync(command.AgentId, CancellationToken.None) is { } agent)
        {
            await cleanupQueue.WriteAsync(agent, CancellationToken.None); // the run ended meanwhile: its leftovers are here
        }

        LogStoppedForPeer(logger, command.AgentId, command.From, found);
        await PublishAsync(new RelayCommand("stopped", command.RequestId, command.From, node.Instance, command.AgentId, found));
    }

    private Task<long> PublishAsync(RelayCommand command) =>
        valkey.Subscriber.PublishAsync(valkey.CommandsChannel, JsonSerializer.Serialize(command, OrchestratorJson.Options));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _commands.UnsubscribeAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kill of agent {AgentId}: its instance {Owner} is gone or did not answer; cleaning up here")]
    private static partial void LogOwnerGone(ILogger logger, Guid agentId, string owner);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} killed by {From}: run stopped here ({Found})")]
    private static partial void LogStoppedForPeer(ILogger logger, Guid agentId, string from, bool found);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Valkey kill relay: {Message}")]
    private static partial void LogCommandFailed(ILogger logger, string message);
}
