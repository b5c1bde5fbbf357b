using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Api;

/// <summary>The body of POST /agents/spawn/batch: up to <see cref="BatchSpawnApi.MaxItems"/> spawn bodies.</summary>
public sealed record BatchSpawnRequest(IReadOnlyList<SpawnRequest> Items);

/// <summary>
/// One entry's answer, at its index in the request: 202 with agentId, or the status and problem a single spawn of
/// that body would have had (400 with errors by field, 409 with the live agent's id, 429 queue full). Absent members
/// are left out of the JSON.
/// </summary>
public sealed record BatchSpawnItem(
    int Index,
    int Status,
    Guid? AgentId,
    object? Problem); // object: serialized as what it is, so a validation problem keeps its errors

/// <summary>Every entry's answer in request order, and how many were accepted and refused.</summary>
public sealed record BatchSpawnResponse(IReadOnlyList<BatchSpawnItem> Items, int Accepted, int Refused);

/// <summary>
/// Many spawns in one request, for coordinators. The batch as a whole is refused (nothing queued) when its envelope
/// is wrong (400: not {"items":[...]}, empty, over <see cref="MaxItems"/>), too large (413, MAX_BATCH_BODY_BYTES), not
/// JSON (415) or while the service cannot run agents (503). Otherwise each entry is validated and queued on its own,
/// in order, exactly as a single spawn would be: a bad entry is refused alone and the others still queue. The answer
/// is 202 when every entry was accepted and 207 (Multi-Status) when any was refused; the body is the same either way.
/// </summary>
public static class BatchSpawnApi
{
    public const int MaxItems = 1000;

    public static async Task<Results<JsonHttpResult<BatchSpawnResponse>, ValidationProblem, ProblemHttpResult>> SpawnBatch(
        HttpContext http, SpawnService spawner, SpawnReadiness readiness, IOptions<OrchestratorOptions> options, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // This route only: a batch is up to 1,000 bodies, so Kestrel's per-request limit (MAX_REQUEST_BODY_BYTES) is
        // raised before the body is read. Read-only once reading began (nothing has read it yet here).
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = settings.MaxBatchBodyBytes;
        }

        var read = await RequestBody.ReadJsonAsync(http.Request, settings.MaxBatchBodyBytes, optional: false, cancellationToken, "MAX_BATCH_BODY_BYTES");
        if (read.Problem is { } problem)
        {
            return problem;
        }

        using var document = read.Document!;
        if (Envelope(document.RootElement) is { } envelopeError)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [envelopeError.Field] = [envelopeError.Message] },
                detail: $"The batch is refused: {envelopeError.Field} {envelopeError.Message}. Nothing was queued.");
        }

        if (await AgentsApi.NotReadyAsync(http, readiness, cancellationToken) is { } notReady)
        {
            return notReady;
        }

        var items = document.RootElement.GetProperty("items");
        var answers = new BatchSpawnItem?[items.GetArrayLength()];
        var commands = new List<SpawnCommand>(answers.Length);
        var positions = new List<int>(answers.Length);
        var index = 0;
        var errors = new Dictionary<string, string[]>(); // one for all entries: the problem of a bad entry copies it
        foreach (var item in items.EnumerateArray())
        {
            errors.Clear();
            if (SpawnRequestReader.Read(item, settings.AllowLocalRepositories, errors) is { } command)
            {
                commands.Add(command);
                positions.Add(index);
            }
            else
            {
                answers[index] = new BatchSpawnItem(index, StatusCodes.Status400BadRequest, null, new HttpValidationProblemDetails(errors)
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = "One or more validation errors occurred.",
                    Detail = $"Entry {index} has {errors.Count} invalid field(s): {string.Join(", ", errors.Keys)}. It was not queued.",
                });
            }

            index++;
        }

        var results = commands.Count == 0 ? [] : await spawner.SpawnManyAsync(commands, ApiKeyAuthentication.ActorOf(http), cancellationToken);
        for (var i = 0; i < results.Count; i++)
        {
            var at = positions[i];
            answers[at] = AgentsApi.NotQueued(http, results[i], commands[i].TaskId, settings) is { } refused
                ? new BatchSpawnItem(at, refused.StatusCode, null, refused.ProblemDetails)
                : new BatchSpawnItem(at, StatusCodes.Status202Accepted, results[i].Agent!.AgentId, null);
        }

        var accepted = results.Count(r => r.Outcome == EnqueueOutcome.Enqueued);
        var response = new BatchSpawnResponse([.. answers.Select(a => a!)], accepted, answers.Length - accepted);
        // A Retry-After that NotQueued set for a full queue stays on the answer: some entries may be sent again later.
        return TypedResults.Json(response, OrchestratorJson.Options,
            statusCode: response.Refused == 0 ? StatusCodes.Status202Accepted : StatusCodes.Status207MultiStatus);
    }

    private static (string Field, string Message)? Envelope(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return ("body", "must be a JSON object {\"items\": [spawn bodies]}");
        }

        var count = items.GetArrayLength();
        return count switch
        {
            0 => ("items", "must hold at least one spawn body"),
            > MaxItems => ("items", $"must hold at most {MaxItems} spawn bodies; this one has {count}"),
            _ => null,
        };
    }
}
