using System.Globalization;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Runtimes.Command;

/// <summary>
/// Runs AGENT_COMMAND with /bin/sh in the agent's workspace: the way to drive any CLI agent (codex, aider, a
/// script). Exit 0 succeeds; exit 75 (EX_TEMPFAIL, sysexits.h) is a transient failure that is retried with
/// backoff; any other exit is a permanent failure.
/// </summary>
public sealed class CommandRuntime(IOptions<OrchestratorOptions> options, IAgentProcesses processes, ModelGateway.GatewayAccess gateway) : IAgentRuntime
{
    public const int TransientExitCode = 75;
    private const string Shell = "/bin/sh";
    private const int AnswerChars = 16 * 1024;

    public string Name => "command";

    public async Task<string?> CheckAsync(CancellationToken cancellationToken) =>
        string.IsNullOrWhiteSpace(options.Value.AgentCommand)
            ? "AGENT_RUNTIME is command but AGENT_COMMAND is not set"
            : await processes.CheckAsync(Shell, cancellationToken);

    public async Task<RuntimeResult> RunAsync(AgentRunContext context, CancellationToken cancellationToken)
    {
        var agent = context.Agent;
        var promptFile = await context.Folder.WritePromptAsync(context.Prompt, cancellationToken);
        // A CLI that speaks the Messages API can go through the gateway too: metered, and never holding the key.
        using var pass = await gateway.OpenAsync(agent, cancellationToken);
        // The end of stdout is the command's answer (a reviewer's verdict, say), kept on the record as run.result.
        var request = new AgentProcessRequest(agent.AgentId, agent.TaskId, Shell, ["-c", options.Value.AgentCommand!], context.WorkspacePath, context.Folder.AttemptLog(agent.Attempt))
        {
            Environment = Environment(agent, context.Prompt, promptFile, pass),
            Tail = new OutputTailOptions(AnswerChars, OutputStreams.StandardOutput),
            OnStarted = context.OnProcessStarted,
        };

        var outcome = await processes.RunAsync(request, cancellationToken);
        pass?.Dispose(); // the run is over: its credential goes now
        outcome.ThrowIfStopped(cancellationToken);
        var answer = outcome.Tail?.TrimEnd();
        var report = new Agents.AgentRunReport
        {
            Runtime = Name,
            Attempt = agent.Attempt,
            Result = string.IsNullOrEmpty(answer) ? null : answer,
        };
        var result = outcome switch
        {
            { OutOfMemory: true } => RuntimeResult.Failed(FailureReason.SandboxOom, "the sandbox's memory limit (SANDBOX_MEMORY) ended the command", outcome.ExitCode),
            _ => ExitResult(outcome.ExitCode),
        };
        result = result with { Report = report };
        return pass?.Judge(result) ?? result;
    }

    private static RuntimeResult ExitResult(int exitCode) =>
        exitCode switch
        {
            0 => RuntimeResult.Success(0),
            TransientExitCode => RuntimeResult.Failed(FailureReason.RuntimeTransient, $"command exited with code {TransientExitCode} (temporary failure)", TransientExitCode),
            var code => RuntimeResult.Failed(FailureReason.RuntimeFailed, $"command exited with code {code}", code),
        };

    private static Dictionary<string, string> Environment(AgentRecord agent, string prompt, string promptFile, ModelGateway.GatewayPass? pass)
    {
        var environment = new Dictionary<string, string>
        {
            ["MOSAIC_AGENT_TYPE"] = agent.AgentType.ToString().ToLowerInvariant(),
            ["MOSAIC_ATTEMPT"] = agent.Attempt.ToString(CultureInfo.InvariantCulture),
            ["MOSAIC_PROMPT"] = prompt,
            ["MOSAIC_PROMPT_FILE"] = promptFile,
        };
        if (pass is not null)
        {
            environment["MOSAIC_MODEL_BASE_URL"] = pass.BaseUrl;
            environment["MOSAIC_MODEL_API_KEY"] = pass.Credential;
        }

        return environment;
    }
}
