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

    private const string KillBody = "Optional: none or an empty one kills. A body is read as JSON whatever its Content-Type; one that is not {\"reason\": \"...\"} is a 400 and kills nothing.";

    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        // Every /agents route may answer 401 (a key is configured and missing or wrong) and 429 (its rate limit).
        var agents = app.MapGroup("/agents").WithTags("agents")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        agents.MapPost("/spawn", Spawn).RequireRateLimiting(RateLimits.Writes)
            .WithName("SpawnAgent").WithSummary("Queue a task for a new agent")
            .WithDescription("202 with the agent's id and its status URL in Location. 400 names every bad field; 409 when the task already has a live agent; " +
                "413 over MAX_REQUEST_BODY_BYTES; 415 not JSON; 429 (Retry-After) when MAX_QUEUED_TASKS wait or the rate limit is hit; " +
                "503 (Retry-After) while git or the agent runtime is unusable. Nothing is queued unless the answer is 202.")
            .DocumentJsonBody<RouteHandlerBuilder, SpawnRequest>(required: true, "The task and where to work on it; read field by field, every bad field is named.")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        agents.MapPost("/spawn/batch", BatchSpawnApi.SpawnBatch).RequireRateLimiting(RateLimits.Writes)
            .WithName("SpawnAgentBatch").WithSummary($"Queue up to {BatchSpawnApi.MaxItems} tasks, each answered on its own")
            .WithDescription("Body {\"items\": [spawn bodies]}. Each entry is validated and queued in order as POST /agents/spawn would: " +
                "items[i] is {index, status: 202, agentId} or {index, status: 400|409|429, problem}. 202 when every entry was accepted, " +
                "207 when any was refused. The whole batch is refused, nothing queued, with 400 (not {items}, empty, over " +
                $"{BatchSpawnApi.MaxItems} entries), 413 over MAX_BATCH_BODY_BYTES, 415 not JSON, 503 (Retry-After) while git or the agent runtime is unusable. " +
                "A batch is one request to the writes rate limit.")
            .DocumentJsonBody<RouteHandlerBuilder, BatchSpawnRequest>(required: true, $"{{\"items\": [...]}}: 1 to {BatchSpawnApi.MaxItems} spawn bodies.")
            .Produces<BatchSpawnResponse>(StatusCodes.Status202Accepted).Produces<BatchSpawnResponse>(StatusCodes.Status207MultiStatus)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        agents.MapGet("/", List).RequireRateLimiting(RateLimits.Reads)
            .WithName("ListAgents").WithSummary("List agents, newest first")
            .WithDescription($"Filters: status, taskId; paging: limit (1-{MaxPageSize}, 50) and offset.");
        agents.MapGet("/{agentId}/status", Status).RequireRateLimiting(RateLimits.Reads)
            .WithName("GetAgentStatus").WithSummary("An agent's record")
            .ProducesProblem(StatusCodes.Status404NotFound);
        agents.MapPost("/{agentId}/kill", Kill).RequireRateLimiting(RateLimits.Kills)
            .WithName("KillAgent").WithSummary("Kill a live agent and its whole process tree")
            .WithDescription("The body is optional; when sent it is read as JSON whatever its Content-Type. 409 when the agent already ended.")
            .DocumentJsonBody<RouteHandlerBuilder, KillRequest>(required: false, KillBody)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        agents.MapPost("/{agentId}/resume", ResumeEndpoint.Resume).RequireRateLimiting(RateLimits.Writes)
            .WithName("ResumeAgent").WithSummary("Continue a failed or killed agent's task from the work it left")
            .WithDescription("202 with the new agent's id: it starts from the stopped agent's WIP branch and, with Claude Code, its conversation. " +
                "404 unknown; 409 live or completed (or the task has another live agent); 422 it left no work to resume from; 503 while the runtime cannot run.")
            .DocumentJsonBody<RouteHandlerBuilder, ResumeRequest>(required: false, "Optional: {\"instructions\": \"...\"} is added to the new agent's prompt.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        agents.MapPost("/kill-all", KillAll).RequireRateLimiting(RateLimits.Kills)
            .WithName("KillAllAgents").WithSummary("Kill every live agent")
            .DocumentJsonBody<RouteHandlerBuilder, KillRequest>(required: false, KillBody)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        agents.MapPost("/emergency-stop", EmergencyStop).RequireRateLimiting(RateLimits.Kills)
            .WithName("EmergencyStop").WithSummary("Refuse every push, pause the queue and kill every live agent")
            .WithDescription("Each killed agent keeps its work on its WIP branch. POST /agents/queue/resume lifts it. Audited.")
            .DocumentJsonBody<RouteHandlerBuilder, KillRequest>(required: false, KillBody)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        agents.MapGet("/events", EventStream.StreamAsync).RequireRateLimiting(RateLimits.Reads)
            .WithName("StreamAgentEvents").WithSummary("Agent events as Server-Sent Events")
            .WithDescription("Each event is `id:`, `event:` (its type) and `data:` (the event as JSON). ?agentId filters; Last-Event-ID or ?since replays from the history. Ends with \": service stopping\" when the service stops.")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream");
        agents.MapGet("/{agentId}/logs", AgentOutputApi.Logs).RequireRateLimiting(RateLimits.Reads)
            .WithName("GetAgentLogs").WithSummary("An attempt's log, whole or followed")
            .WithDescription("The latest attempt's log as text/plain (?attempt=N picks one), its last AGENT_LOG_MAX_BYTES at most; served as the agent printed it. " +
                "?follow=true streams it as Server-Sent Events: `event: log` with one line as `data:`, `event: attempt` when a retry starts a new log, " +
                "and `event: end` (data: the agent's status) once the agent ended; a follow waits for a log that does not exist yet. " +
                "404 unknown agent or no such log on this node; 400 bad attempt or follow; 429 when EVENT_STREAMS_PER_CALLER streams are open.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain", "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);
        agents.MapGet("/{agentId}/diff", AgentOutputApi.Diff).RequireRateLimiting(RateLimits.Reads)
            .WithName("GetAgentDiff").WithSummary("The unified diff of the agent's commits against their base")
            .WithDescription($"base..head as recorded, read from the repository cache, as text/x-diff; over {AgentOutputApi.MaxDiffBytes} bytes it is cut at a line end " +
                "and ends with a \"[mosaic: diff truncated ...]\" line. 404 unknown agent, or no commit yet.")
            .Produces<string>(StatusCodes.Status200OK, "text/x-diff")
            .ProducesProblem(StatusCodes.Status404NotFound);
        agents.MapGet("/queue/stats", QueueStats).RequireRateLimiting(RateLimits.Reads)
            .WithName("GetQueueStats").WithSummary("Tasks by where they stand, and whether the queue is paused");
        agents.MapPost("/queue/pause", (IQueueAdmin admin, QueueSignal signal, TimeProvider time, HttpContext http, AuditTrail audit, CancellationToken ct) =>
            SetPaused(true, admin, signal, time, http, audit, ct)).RequireRateLimiting(RateLimits.Writes)
            .WithName("PauseQueue").WithSummary("Stop leasing tasks (spawns still queue); answers the stats");
        agents.MapPost("/queue/resume", (IQueueAdmin admin, QueueSignal signal, TimeProvider time, HttpContext http, AuditTrail audit, CancellationToken ct) =>
            SetPaused(false, admin, signal, time, http, audit, ct)).RequireRateLimiting(RateLimits.Writes)
            .WithName("ResumeQueue").WithSummary("Lease tasks again; answers the stats");
        agents.MapGet("/audit", Audit).RequireRateLimiting(RateLimits.Reads)
            .WithName("ListAudit").WithSummary("The audit trail, newest first")
            .WithDescription("Kills, pauses, recoveries, skipped gates; paging: limit (1-1000, 100) and offset.");
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
        if (await NotReadyAsync(http, readiness, cancellationToken) is { } notReady)
        {
            return notReady;
        }

        var result = await spawner.SpawnAsync(command, ApiKeyAuthentication.ActorOf(http), cancellationToken);
        return NotQueued(http, result, command.TaskId, settings) is { } refused
            ? refused
            : TypedResults.Accepted($"/agents/{result.Agent!.AgentId}/status", new SpawnResponse(result.Agent.AgentId, "spawning"));
    }

    /// <summary>503 with the failing checks while git or the agent runtime cannot run agents; null when they can.</summary>
    internal static async Task<ProblemHttpResult?> NotReadyAsync(HttpContext http, SpawnReadiness readiness, CancellationToken cancellationToken)
    {
        if (await readiness.FailingAsync(cancellationToken) is not { Count: > 0 } failing)
        {
            return null;
        }

        http.Response.Headers.RetryAfter = ((int)SpawnReadiness.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready to run agents",
            detail: $"Not ready to run agents: {string.Join("; ", failing.Select(f => $"{f.Key}: {f.Value}"))}. Nothing was queued; GET /health/ready shows every check.",
            extensions: new Dictionary<string, object?> { ["failing"] = failing.Keys.ToArray(), ["checks"] = failing });
    }

    /// <summary>409 when the task has a live agent, 429 when the queue is full; null when the agent was queued.</summary>
    internal static ProblemHttpResult? NotQueued(HttpContext http, EnqueueResult result, string taskId, OrchestratorOptions settings)
    {
        switch (result.Outcome)
        {
            case EnqueueOutcome.DuplicateLiveTask:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                    detail: $"Task {taskId} already has a live agent {result.ExistingAgentId}.",
                    extensions: new Dictionary<string, object?> { ["agentId"] = result.ExistingAgentId });
            case EnqueueOutcome.QueueFull:
                http.Response.Headers.RetryAfter = settings.QueueFullRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Queue full",
                    detail: $"{result.Waiting} tasks already wait (MAX_QUEUED_TASKS is {settings.MaxQueuedTasks}). Retry later.");
            default:
                return null;
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

        var reason = await OptionalTextBody.KillReason.ReadAsync(http, options.Value.MaxRequestBodyBytes, cancellationToken);
        if (reason.Problem is { } problem)
        {
            return problem;
        }

        var result = await killSwitch.KillAsync(id, ApiKeyAuthentication.ActorOf(http), reason.Text, cancellationToken);
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
        var reason = await OptionalTextBody.KillReason.ReadAsync(http, options.Value.MaxRequestBodyBytes, cancellationToken);
        if (reason.Problem is { } problem)
        {
            return problem;
        }

        var report = await killSwitch.KillAllAsync(ApiKeyAuthentication.ActorOf(http), reason.Text, cancellationToken);
        return TypedResults.Ok(new KillAllResponse(
            $"Kill all completed: {report.Killed} killed, {report.Failed} failed", report.Total, report.Killed, report.Failed, report.Errors));
    }

    public static async Task<Ok<QueueStats>> QueueStats(IQueueAdmin admin, LeaseGate gate, ModelGateway.ModelAccount account, IOptions<OrchestratorOptions> options,
        TimeProvider time, CancellationToken cancellationToken) =>
        TypedResults.Ok(WithLeasing(await admin.GetStatsAsync(time.GetUtcNow(), cancellationToken), gate, account, options.Value));

    /// <summary>The stats with why nothing is leased here now, and the model account's day.</summary>
    private static QueueStats WithLeasing(QueueStats stats, LeaseGate gate, ModelGateway.ModelAccount account, OrchestratorOptions settings) => stats with
    {
        NotLeasing = gate.WhyNot(),
        SpentTodayUsd = settings.ModelGateway ? account.SpentTodayUsd : null,
        DailyMaxCostUsd = settings.DailyMaxCostUsd,
        RateLimitedUntil = account.ParkedUntil,
    };

    /// <summary>
    /// Refuses every push, pauses the queue and kills every live agent (each keeps its work on its WIP branch), until
    /// POST /agents/queue/resume. Once begun it finishes, even if the caller goes away.
    /// </summary>
    public static async Task<Results<Ok<EmergencyStopResponse>, ProblemHttpResult>> EmergencyStop(
        HttpContext http, IQueueAdmin admin, KillSwitch killSwitch, QueueSignal signal, AuditTrail audit, TimeProvider time, IOptions<OrchestratorOptions> options)
    {
        var reason = await OptionalTextBody.KillReason.ReadAsync(http, options.Value.MaxRequestBodyBytes, CancellationToken.None);
        if (reason.Problem is { } problem)
        {
            return problem;
        }

        var actor = ApiKeyAuthentication.ActorOf(http);
        // Pushes first: an agent finishing while the others are killed must not push either.
        await admin.SetEmergencyStopAsync(true, CancellationToken.None);
        await admin.SetPausedAsync(true, CancellationToken.None);
        signal.Notify();
        await audit.RecordAsync(new AuditEntry("emergency-stop", actor, null, null, reason.Text, null, time.GetUtcNow()), CancellationToken.None);
        var report = await killSwitch.KillAllAsync(actor, reason.Text ?? "emergency stop", CancellationToken.None);
        return TypedResults.Ok(new EmergencyStopResponse(
            $"Emergency stop: pushes refused, queue paused, {report.Killed} killed, {report.Failed} failed; POST /agents/queue/resume lifts it",
            report.Total, report.Killed, report.Failed, report.Errors, await admin.GetStatsAsync(time.GetUtcNow(), CancellationToken.None)));
    }

    private static async Task<Ok<QueueStats>> SetPaused(bool paused, IQueueAdmin admin, QueueSignal signal, TimeProvider time, HttpContext http, AuditTrail audit, CancellationToken cancellationToken)
    {
        if (!paused)
        {
            // Resuming the queue also lifts an emergency stop.
            await admin.SetEmergencyStopAsync(false, cancellationToken);
        }

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
