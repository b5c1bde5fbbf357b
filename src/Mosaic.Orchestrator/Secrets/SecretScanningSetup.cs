using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Mosaic.Orchestrator.Secrets;

/// <summary>Registers the secret scanner for the pipeline: SECRET_RULES_FILE over the embedded default rules, <see cref="ISecretScanner"/>, and the
/// <see cref="SecretRedaction"/> of what agents print.</summary>
public static class SecretScanningSetup
{
    public static IServiceCollection AddSecretScanning(this IServiceCollection services, string? rulesFile = null)
    {
        if (rulesFile is { Length: > 0 })
        {
            services.AddSingleton(_ => SecretRules.Load(rulesFile));
        }

        services.TryAddSingleton(_ => SecretRules.Default);
        services.TryAddSingleton<ISecretScanner>(sp => new GitSecretScanner(sp.GetRequiredService<SecretRules>()));
        services.TryAddSingleton(sp => new SecretRedaction(sp.GetRequiredService<SecretRules>()));
        return services;
    }
}
