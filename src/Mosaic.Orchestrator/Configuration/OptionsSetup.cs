using Microsoft.Extensions.Options;

namespace Mosaic.Orchestrator.Configuration;

public static class OptionsSetup
{
    /// <summary>The service's settings, validated at start (a bad one stops the start naming it); returns them for composition.</summary>
    public static OrchestratorOptions AddOrchestratorOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<OrchestratorOptions>().Bind(builder.Configuration).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OrchestratorOptions>, OrchestratorOptionsValidator>();
        return builder.Configuration.Get<OrchestratorOptions>() ?? new OrchestratorOptions();
    }
}
