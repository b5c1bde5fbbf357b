using System.Net.Http.Json;
using System.Text.Json;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Gates;

/// <summary>The Coordinator's answer to a quality check.</summary>
public sealed record CoordinatorVerdict(bool Approved, string Gate, string? Message, JsonElement? Details);

/// <summary>
/// Asks the Coordinator to judge the agent's change: POST {COORDINATOR_URL}/api/quality/check. Timeouts, retries
/// with backoff and jitter, and a circuit breaker come from the resilience pipeline registered with this client.
/// Fail closed: an unreachable Coordinator, an error status after the retries or an answer that is not the
/// expected JSON is "not approved" with the reason said.
/// </summary>
public sealed class CoordinatorClient(HttpClient http)
{
    public const string Path = "api/quality/check";

    public async Task<CoordinatorVerdict> CheckAsync(AgentRecord agent, IReadOnlyList<string> files, string diffSummary, IReadOnlyList<string> gates, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(Path, new
            {
                taskId = agent.TaskId,
                agentId = agent.AgentId,
                files,
                diffSummary,
                gateProfile = agent.GateProfile.ToString().ToLowerInvariant(),
                gates,
            }, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or Polly.CircuitBreaker.BrokenCircuitException or Polly.Timeout.TimeoutRejectedException
            && !cancellationToken.IsCancellationRequested)
        {
            return Refused($"the Coordinator could not be reached: {ex.Message}");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                return Refused($"the Coordinator answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            try
            {
                using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
                var root = body.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("approved", out var approved) || approved.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
                    || !root.TryGetProperty("gate", out var gate) || gate.ValueKind != JsonValueKind.String)
                {
                    return Refused("the Coordinator's answer lacks a boolean approved and a string gate");
                }

                return new CoordinatorVerdict(
                    approved.GetBoolean(),
                    gate.GetString()!,
                    root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String ? message.GetString() : null,
                    root.TryGetProperty("details", out var details) ? details.Clone() : null);
            }
            catch (JsonException)
            {
                return Refused("the Coordinator's answer is not JSON");
            }
        }
    }

    private static CoordinatorVerdict Refused(string why) => new(false, "coordinator", why, null);
}
