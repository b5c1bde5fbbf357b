using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Events;
using Mosaic.Orchestrator.Killswitch;
using Mosaic.Orchestrator.Queue;

namespace Mosaic.Orchestrator.Api;

public static class AgentsApi
{
    public const int MaxPageSize = 500;

    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/agents");
        agents.MapPost("/spawn", Spawn).RequireRateLimiting(RateLimits.Writes);
        agents.MapGet("/", List).RequireRateLimiting(RateLimits.Reads);
        agents.MapGet("/{agentId}/status", Status).RequireRateLimiting(RateLimits.Reads);
        agents.MapPost("/{agentId}/kill", Kill).RequireRateLimiting(RateLimits.Kills);
        agents.MapPost("/kill-all", KillAll).RequireRateLimiting(RateLimits.Kills);
        agents.MapGet("/events", EventStream.StreamAsync).RequireRateLimiting(RateLimits.Reads);
        agents.MapGet("/queue/stats", QueueStats).RequireRateLimiting(RateLimits.Reads);
        agents.MapPost("/queue/pause", (IQueueAdmin admin, QueueSignal signal, TimeProvider time, HttpContext http, AuditTrail audit, CancellationToken ct) =>
            SetPaused(true, admin, signal, time, http, audit, ct)).RequireRateLimiting(RateLimits.Writes);
        agents.MapPost("/queue/resume", (IQueueAdmin admin, QueueSignal signal, TimeProvider time, HttpContext http, AuditTrail audit, CancellationToken ct) =>
            SetPaused(false, admin, signal, time, http, audit, ct)).RequireRateLimiting(RateLimits.Writes);
        agents.MapGet("/audit", Audit).RequireRateLimiting(RateLimits.Reads);
        return app;
    }

    public static async Task<Results<Accepted<SpawnResponse>, ValidationProblem, ProblemHttpResult>> Spawn(
        HttpContext http, SpawnService spawner, SpawnReadiness readiness, IOptions<OrchestratorOptions> options, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var read = await RequestBody.ReadJsonAsync(http.Request, settings.MaxRequestBodyBytes, optional: false, cancellationToken);
        if (read.Problem is { } problem)
        {
            return problem;
        }

        using var document = read.Document!;
        var errors = new Dictionary<string, string[]>();
        var command = SpawnRequestReader.Read(document.RootElement, settings.AllowLocalRepositories, errors);
        if (command is null)
        {
            return TypedResults.ValidationProblem(errors, detail: $"The spawn request has {errors.Count} invalid field(s): {string.Join(", ", errors.Keys)}. Nothing was queued.");
        }

        // After validation: a 503 then means "this request is fine, the service cannot run it now".
        if (await readiness.FailingAsync(cancellationToken) is { Count: > 0 } failing)
        {
            http.Response.Headers.RetryAfter = ((int)SpawnReadiness.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready to run agents",
                detail: $"Not ready to run agents: {string.Join("; ", failing.Select(f => $"{f.Key}: {f.Value}"))}. Nothing was queued; GET /health/ready shows every check.",
                extensions: new Dictionary<string, object?> { ["failing"] = failing.Keys.ToArray(), ["checks"] = failing });
        }

        var result = await spawner.SpawnAsync(command, ApiKeyAuthentication.ActorOf(http), cancellationToken);
        switch (result.Outcome)
        {
            case EnqueueOutcome.DuplicateLiveTask:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                    detail: $"Task {command.TaskId} already has a live agent {result.ExistingAgentId}.",
                    extensions: new Dictionary<string, object?> { ["agentId"] = result.ExistingAgentId });
            case EnqueueOutcome.QueueFull:
                http.Response.Headers.RetryAfter = settings.QueueFullRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Queue full",
                    detail: $"{result.Waiting} tasks already wait (MAX_QUEUED_TASKS is {settings.MaxQueuedTasks}). Retry later.");
            default:
                var agent = result.Agent!;
                return TypedResults.Accepted($"/agents/{agent.AgentId}/status", new SpawnResponse(agent.AgentId, "spawning"));
        }
    }

    public static async Task<Results<Ok<AgentListResponse>, ValidationProblem>> List(
        IAgentStore store, string? status, string? taskId, string? limit, string? offset, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        AgentStatus? statusFilter = null;
        if (status is not null)
        {
            if (Enum.GetNames<AgentStatus>().FirstOrDefault(n => n.Equals(status, StringComparison.OrdinalIgnoreCase)) is { } name)
            {
                statusFilter = Enum.Parse<AgentStatus>(name);
            }
            else
            {
                errors["status"] = ["must be one of spawning, running, completed, failed, killed"];
            }
        }

        var pageSize = ParseInt(limit, "limit", 50, 1, MaxPageSize, errors);
        var skip = ParseInt(offset, "offset", 0, 0, int.MaxValue, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "Invalid query parameters: " + string.Join(", ", errors.Keys));
        }

        var page = await store.ListAsync(new AgentQuery(statusFilter, taskId, pageSize, skip), cancellationToken);
        return TypedResults.Ok(new AgentListResponse([.. page.Items.Select(AgentView.From)], page.Total, pageSize, skip));
    }

    public static async Task<Results<Ok<AgentView>, ProblemHttpResult>> Status(string agentId, IAgentStore store, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(agentId, out var id) || await store.GetAsync(id, cancellationToken) is not { } agent)
        {
            return UnknownAgent(agentId);
        }

        return TypedResults.Ok(AgentView.From(agent));
    }

    public static async Task<Results<Ok<MessageResponse>, ProblemHttpResult>> Kill(
        string agentId, HttpContext http, KillSwitch killSwitch, IOptions<OrchestratorOptions> options, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(agentId, out var id))
        {
            return UnknownAgent(agentId);
        }

        var reason = await ReadReasonAsync(http, options.Value.MaxRequestBodyBytes, cancellationToken);
        if (reason.Problem is { } problem)
        {
            return problem;
        }

        var result = await killSwitch.KillAsync(id, ApiKeyAuthentication.ActorOf(http), reason.Reason, cancellationToken);
        return result.Outcome switch
        {
            KillOutcome.NotFound => UnknownAgent(agentId),
            KillOutcome.AlreadyTerminal => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                detail: $"Agent {id} is already {result.Agent!.Status.ToString().ToLowerInvariant()}; only live agents can be killed.",
                extensions: new Dictionary<string, object?> { ["agentStatus"] = result.Agent.Status.ToString().ToLowerInvariant() }),
            _ => TypedResults.Ok(new MessageResponse($"Agent {id} killed successfully")),
        };
    }

    public static async Task<Results<Ok<KillAllResponse>, ProblemHttpResult>> KillAll(
        HttpContext http, KillSwitch killSwitch, IOptions<OrchestratorOptions> options, CancellationToken cancellationToken)
    {
        var reason = await ReadReasonAsync(http, options.Value.MaxRequestBodyBytes, cancellationToken);
        if (reason.Problem is { } problem)
        {
            return problem;
        }

        var report = await killSwitch.KillAllAsync(ApiKeyAuthentication.ActorOf(http), reason.Reason, cancellationToken);
        return TypedResults.Ok(new KillAllResponse(
            $"Kill all completed: {report.Killed} killed, {report.Failed} failed", report.Total, report.Killed, report.Failed, report.Errors));
    }

    public static async Task<Ok<QueueStats>> QueueStats(IQueueAdmin admin, TimeProvider time, CancellationToken cancellationToken) =>
        TypedResults.Ok(await admin.GetStatsAsync(time.GetUtcNow(), cancellationToken));

    private static async Task<Ok<QueueStats>> SetPaused(bool paused, IQueueAdmin admin, QueueSignal signal, TimeProvider time, HttpContext http, AuditTrail audit, CancellationToken cancellationToken)
    {
        await admin.SetPausedAsync(paused, cancellationToken);
        await audit.RecordAsync(new AuditEntry(paused ? "queue.pause" : "queue.resume", ApiKeyAuthentication.ActorOf(http), null, null, null, null, time.GetUtcNow()), cancellationToken);
        signal.Notify();
        return TypedResults.Ok(await admin.GetStatsAsync(time.GetUtcNow(), cancellationToken));
    }

    /// <summary>Newest first, in the same envelope as GET /agents: {items, total, limit, offset}.</summary>
    public static async Task<Results<Ok<AuditListResponse>, ValidationProblem>> Audit(IAuditStore store, string? limit, string? offset, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var pageSize = ParseInt(limit, "limit", 100, 1, 1000, errors);
        var skip = ParseInt(offset, "offset", 0, 0, int.MaxValue, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "Invalid query parameters: " + string.Join(", ", errors.Keys));
        }

        var page = await store.ListAsync(pageSize, skip, cancellationToken);
        return TypedResults.Ok(new AuditListResponse(page.Items, page.Total, pageSize, skip));
    }

    private static ProblemHttpResult UnknownAgent(string agentId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"Agent {agentId} not found.");

    private sealed record KillReason(string? Reason, ProblemHttpResult? Problem);

    /// <summary>
    /// Kill bodies are optional: none, an empty one (whatever its content type) or {"reason": "..."}, which goes into
    /// the audit entry. A body that is there but is not that is a 400 naming `reason` and kills nothing: the caller
    /// meant to say something, and the audit entry would lose it.
    /// </summary>
    private static async Task<KillReason> ReadReasonAsync(HttpContext http, long maxBytes, CancellationToken cancellationToken)
    {
        var read = await RequestBody.ReadJsonAsync(http.Request, maxBytes, optional: true, cancellationToken);
        if (read.NotJson)
        {
            return new KillReason(null, BadReason("The body is not JSON. "));
        }

        if (read.Problem is not null || read.Document is null)
        {
            return new KillReason(null, read.Problem);
        }

        using var document = read.Document;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return new KillReason(null, BadReason());
        }

        if (!root.TryGetProperty("reason", out var reason) || reason.ValueKind == JsonValueKind.Null)
        {
            return new KillReason(null, null);
        }

        return reason.ValueKind == JsonValueKind.String && SpawnRequestReader.Text(reason, "reason", []) is { Length: <= 500 } text && !text.Any(char.IsControl)
            ? new KillReason(text, null)
            : new KillReason(null, BadReason());
    }

    private static ProblemHttpResult BadReason(string why = "") =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "One or more validation errors occurred.",
            detail: why + "Invalid field: reason. The kill body is optional; when sent it must be JSON: {\"reason\": \"<at most 500 characters>\"}. Nothing was killed.",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["reason"] = ["must be a string of at most 500 characters"] } });

    private static int ParseInt(string? text, string name, int fallback, int min, int max, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return fallback;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors[name] = [$"must be an integer from {min} to {max}"];
        return fallback;
    }
}
