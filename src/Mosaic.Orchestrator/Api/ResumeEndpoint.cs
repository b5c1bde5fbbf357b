using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// POST /agents/{id}/resume: a failed or killed agent's task goes on in a new agent that starts from the work the
/// earlier one left on its WIP branch (and, with Claude Code, its conversation). The body is optional:
/// {"instructions": "..."} is added to the new agent's prompt.
/// </summary>
public static class ResumeEndpoint
{
    public static async Task<Results<Accepted<ResumeResponse>, ProblemHttpResult>> Resume(
        string agentId, HttpContext http, IAgentStore store, SpawnService spawner, SpawnReadiness readiness, IOptions<OrchestratorOptions> options,
        CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!Guid.TryParse(agentId, out var id) || await store.GetAsync(id, cancellationToken) is not { } earlier)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"Agent {agentId} not found.");
        }

        if (earlier.IsLive || earlier.Status == AgentStatus.Completed)
        {
            var state = earlier.Status.ToString().ToLowerInvariant();
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                detail: $"Agent {id} is {state}: only a failed or killed agent can be resumed.", extensions: new Dictionary<string, object?> { ["status"] = state });
        }

        if (earlier.WipBranch is null || earlier.WipCommit is null || earlier.BaseCommit is null)
        {
            var why = earlier.WipError is { } error ? $" ({error})" : "";
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Nothing to resume from",
                detail: $"Agent {id} left no work on a WIP branch{why}. Spawn the task again to start it afresh.");
        }

        var instructions = await OptionalTextBody.ResumeInstructions.ReadAsync(http, settings.MaxRequestBodyBytes, cancellationToken);
        if (instructions.Problem is { } problem)
        {
            return problem;
        }

        if (await AgentsApi.NotReadyAsync(http, readiness, cancellationToken) is { } notReady)
        {
            return notReady;
        }

        var result = await spawner.ResumeAsync(earlier, instructions.Text, ApiKeyAuthentication.ActorOf(http), cancellationToken);
        return AgentsApi.NotQueued(http, result, earlier.TaskId, settings) is { } refused
            ? refused
            : TypedResults.Accepted($"/agents/{result.Agent!.AgentId}/status", new ResumeResponse(result.Agent.AgentId, "spawning", id));
    }
}

public sealed record ResumeResponse(Guid AgentId, string Status, Guid ResumedFrom);
