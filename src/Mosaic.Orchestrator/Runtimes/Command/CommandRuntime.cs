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
public sealed class CommandRuntime(IOptions<OrchestratorOptions> options) : IAgentRuntime
{
    public const int TransientExitCode = 75;
    private const string Shell = "/bin/sh";
    private const int AnswerChars = 16 * 1024;

    public string Name => "command";

    public Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        string? problem = null;
        if (string.IsNullOrWhiteSpace(options.Value.AgentCommand))
        {
            problem = "AGENT_RUNTIME is command but AGENT_COMMAND is not set";
        }
        else if (!File.Exists(Shell) || !File.Exists(ProcessLauncher.SetsidPath))
        {
            problem = $"{Shell} or {ProcessLauncher.SetsidPath} is missing";
        }

        return Task.FromResult(problem);
    }

    public async Task<RuntimeResult> RunAsync(AgentRunContext context, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var agent = context.Agent;
        var home = Path.Combine(context.AgentDirectory, "home");
        var tmp = Path.Combine(context.AgentDirectory, "tmp");
        Directory.CreateDirectory(home);
        Directory.CreateDirectory(tmp);
        var promptFile = Path.Combine(context.AgentDirectory, "prompt.txt");
        await File.WriteAllTextAsync(promptFile, context.Prompt, cancellationToken);

        var environment = AgentEnvironment.Build(settings.AgentEnvPassthrough, home, tmp);
        environment["MOSAIC_AGENT_ID"] = agent.AgentId.ToString();
        environment["MOSAIC_TASK_ID"] = agent.TaskId;
        environment["MOSAIC_AGENT_TYPE"] = agent.AgentType.ToString().ToLowerInvariant();
        environment["MOSAIC_ATTEMPT"] = agent.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["MOSAIC_PROMPT"] = context.Prompt;
        environment["MOSAIC_PROMPT_FILE"] = promptFile;

        // The end of stdout is the command's answer (a reviewer's verdict, say), kept on the record as run.result.
        var answer = new System.Text.StringBuilder();
        var spec = new ProcessSpec(
            Shell,
            ["-c", settings.AgentCommand!],
            context.WorkspacePath,
            environment,
            AgentMarker.For(agent.AgentId),
            Path.Combine(context.AgentDirectory, $"attempt-{agent.Attempt}.log"),
            settings.AgentLogMaxBytes,
            settings.AgentNice,
            (line, standardError) =>
            {
                if (!standardError)
                {
                    answer.Append(System.Text.Encoding.UTF8.GetString(line)).Append('\n');
                    if (answer.Length > AnswerChars * 2)
                    {
                        answer.Remove(0, answer.Length - AnswerChars);
                    }
                }
            });

        var outcome = await ProcessLauncher.RunAsync(spec, settings.KillGrace, context.OnProcessStarted, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        var text = answer.ToString().TrimEnd();
        var report = new Agents.AgentRunReport
        {
            Runtime = Name,
            Attempt = agent.Attempt,
            Result = text.Length == 0 ? null : text.Length > AnswerChars ? text[^AnswerChars..] : text,
        };
        var result = outcome.ExitCode switch
        {
            0 => RuntimeResult.Success(0),
            TransientExitCode => RuntimeResult.Failed(FailureReason.RuntimeTransient, $"command exited with code {TransientExitCode} (temporary failure)", TransientExitCode),
            var code => RuntimeResult.Failed(FailureReason.RuntimeFailed, $"command exited with code {code}", code),
        };
        return result with { Report = report };
    }
}
