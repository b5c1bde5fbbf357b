using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Runtimes.ClaudeCode;
using Mosaic.Orchestrator.Runtimes.Command;

namespace Mosaic.Orchestrator.Runtimes;

public static class RuntimesSetup
{
    /// <summary>The prompt templates and the AGENT_RUNTIME that runs agents (Claude Code or any command).</summary>
    public static IServiceCollection AddRuntimes(this IServiceCollection services, IConfiguration configuration, OrchestratorOptions settings)
    {
        services.AddOptions<ClaudeCodeOptions>().Bind(configuration).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClaudeCodeOptions>, ClaudeCodeOptionsValidator>();
        // Problems in the template folder stop the start through options validation; here the good ones are used.
        services.AddSingleton(_ => PromptTemplates.Load(settings.PromptTemplateDir, out IReadOnlyList<string> _));
        services.AddSingleton<IAgentRuntime>(sp => settings.AgentRuntime switch
        {
            "command" => ActivatorUtilities.CreateInstance<CommandRuntime>(sp),
            "claude-code" => ActivatorUtilities.CreateInstance<ClaudeCodeRuntime>(sp),
            var name => throw new InvalidOperationException($"AGENT_RUNTIME '{name}' is unknown"), // options validation refuses it first
        });
        return services;
    }
}
