using System.Globalization;
using System.Text.Json;

namespace Mosaic.Orchestrator.Cli;

/// <summary>
/// The client commands: the HTTP API of a running service from a shell (spawn, list, status, logs, diff, kill,
/// kill-all, watch). Output is plain lines, one per agent or event; --json prints the service's JSON instead, for
/// scripts. Exit codes: 0 ok, 1 the operation failed (a problem from the service) or the agent did not complete,
/// 2 usage error, 3 the service could not be reached.
/// </summary>
public static class ClientCommands
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;
    public const int Unreachable = 3;

    public const string DefaultUrl = "http://127.0.0.1:3001";

    /// <summary>How often, and how long apart, an event stream that ended is opened again (the service restarting).</summary>
    private const int Reconnects = 5;
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    private static readonly string[] EndEvents = ["agent.completed", "agent.failed", "agent.killed"];

    private sealed record Command(string Usage, string[] Values, string[] Flags, int Positionals, Func<Context, Task<int>> RunAsync);

    private sealed record Context(ClientArguments Args, OrchestratorClient Client, TextWriter Output, TextWriter Error, bool Json, CancellationToken CancellationToken)
    {
        public string AgentId => Args.Positionals.Count == 1 ? Uri.EscapeDataString(Args.Positionals[0]) : throw new UsageException("the agent's id is required");
    }

    private static readonly Dictionary<string, Command> Commands = new(StringComparer.Ordinal)
    {
        ["spawn"] = new("spawn --task-id T --repository URL [--branch B] [--type worker|reviewer|tester] [--priority N] [--work-item W ...] [--skill S ...] [--wait]",
            ["--task-id", "--repository", "--branch", "--type", "--priority", "--work-item", "--skill"], ["--wait"], 0, SpawnAsync),
        ["list"] = new("list [--status S] [--task-id T]", ["--status", "--task-id"], [], 0, ListAsync),
        ["status"] = new("status AGENT_ID", [], [], 1, StatusAsync),
        ["logs"] = new("logs AGENT_ID [-f|--follow] [--attempt N]", ["--attempt"], ["--follow"], 1, LogsAsync),
        ["diff"] = new("diff AGENT_ID", [], [], 1, DiffAsync),
        ["kill"] = new("kill AGENT_ID [--reason R]", ["--reason"], [], 1, KillAsync),
        ["kill-all"] = new("kill-all [--reason R]", ["--reason"], [], 0, KillAllAsync),
        ["watch"] = new("watch [--agent AGENT_ID]", ["--agent"], [], 0, WatchAsync),
    };

    public static bool IsClientCommand(string name) => Commands.ContainsKey(name);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        var name = args[0];
        var command = Commands[name];
        if (args.Skip(1).Any(a => a is "-h" or "--help"))
        {
            output.WriteLine($"usage: mosaic-orchestrator {command.Usage} [--url URL] [--api-key KEY] [--json]");
            return Ok;
        }

        OrchestratorClient client;
        ClientArguments parsed;
        try
        {
            parsed = ClientArguments.Parse(args[1..], command.Values, command.Flags, command.Positionals, new Dictionary<string, string> { ["-f"] = "--follow" });
            var url = parsed.Value("--url") ?? NonEmpty(environment("MOSAIC_URL")) ?? DefaultUrl;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                throw new UsageException($"--url '{url}' is not an http:// or https:// address");
            }

            client = new OrchestratorClient(address, parsed.Value("--api-key") ?? NonEmpty(environment("MOSAIC_API_KEY")));
        }
        catch (UsageException ex)
        {
            return Usage(error, command, ex.Message);
        }

        using (client)
        {
            try
            {
                return await command.RunAsync(new Context(parsed, client, output, error, parsed.Has("--json"), cancellationToken));
            }
            catch (UsageException ex)
            {
                return Usage(error, command, ex.Message);
            }
            catch (ServiceUnreachableException ex)
            {
                error.WriteLine($"mosaic-orchestrator: {ex.Message}");
                return Unreachable;
            }
        }
    }

    private static int Usage(TextWriter error, Command command, string problem)
    {
        error.WriteLine($"mosaic-orchestrator: {problem}");
        error.WriteLine($"usage: mosaic-orchestrator {command.Usage} [--url URL] [--api-key KEY] [--json]");
        return UsageError;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static async Task<int> SpawnAsync(Context context)
    {
        var args = context.Args;
        var type = args.Value("--type") ?? "worker";
        if (type is not ("worker" or "reviewer" or "tester"))
        {
            throw new UsageException($"--type must be worker, reviewer or tester (got '{type}')");
        }

        int? priority = null;
        if (args.Value("--priority") is { } text)
        {
            priority = int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                ? value : throw new UsageException($"--priority must be a whole number (got '{text}')");
        }

        var body = new Dictionary<string, object?>
        {
            ["taskId"] = args.Required("--task-id"),
            ["agentType"] = type,
            ["context"] = new Dictionary<string, object?>
            {
                ["repository"] = args.Required("--repository"),
                ["branch"] = args.Value("--branch") ?? "main",
                ["workItems"] = args.All("--work-item"),
                ["skills"] = args.All("--skill"),
            },
        };
        if (priority is not null)
        {
            body["priority"] = priority;
        }

        var reply = await context.Client.SendAsync(HttpMethod.Post, "agents/spawn", body, context.CancellationToken);
        if (!reply.Succeeded)
        {
            OrchestratorClient.PrintProblem(reply, context.Error);
            return Failed;
        }

        var agentId = reply.Json().GetProperty("agentId").GetString()!;
        context.Output.WriteLine(context.Json ? reply.Body : $"{agentId} spawning");
        return args.Has("--wait") ? await FollowEventsAsync(context, agentId, untilEnd: true) : Ok;
    }

    private static async Task<int> ListAsync(Context context)
    {
        var query = new List<string>();
        foreach (var (option, parameter) in new[] { ("--status", "status"), ("--task-id", "taskId") })
        {
            if (context.Args.Value(option) is { } value)
            {
                query.Add($"{parameter}={Uri.EscapeDataString(value)}");
            }
        }

        var reply = await context.Client.SendAsync(HttpMethod.Get, "agents" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), null, context.CancellationToken);
        if (!Printed(context, reply))
        {
            return Failed;
        }

        if (!context.Json)
        {
            var list = reply.Json();
            foreach (var agent in list.GetProperty("items").EnumerateArray())
            {
                context.Output.WriteLine(string.Join("  ",
                    Text(agent, "agentId"), Text(agent, "status"), Text(agent, "taskId"), Text(agent, "agentType"), Text(agent, "spawnedAt")));
            }

            context.Error.WriteLine($"{list.GetProperty("items").GetArrayLength()} of {list.GetProperty("total")} agent(s)");
        }

        return Ok;
    }

    private static async Task<int> StatusAsync(Context context)
    {
        var reply = await context.Client.SendAsync(HttpMethod.Get, $"agents/{context.AgentId}/status", null, context.CancellationToken);
        if (!Printed(context, reply))
        {
            return Failed;
        }

        if (!context.Json)
        {
            var agent = reply.Json();
            foreach (var field in new[] { "agentId", "taskId", "agentType", "status", "reason", "error", "attempt", "maxAttempts", "spawnedAt",
                "startedAt", "completedAt", "branch", "baseCommit", "headCommit", "pushed", "wipBranch", "totalCostUsd" })
            {
                if (agent.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    context.Output.WriteLine($"{field}: {(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText())}");
                }
            }
        }

        return Ok;
    }

    private static async Task<int> LogsAsync(Context context)
    {
        var path = $"agents/{context.AgentId}/logs";
        var attempt = context.Args.Value("--attempt") is { } number ? $"attempt={Uri.EscapeDataString(number)}" : null;
        if (!context.Args.Has("--follow"))
        {
            var reply = await context.Client.SendAsync(HttpMethod.Get, attempt is null ? path : $"{path}?{attempt}", null, context.CancellationToken);
            if (!reply.Succeeded)
            {
                OrchestratorClient.PrintProblem(reply, context.Error);
                return Failed;
            }

            context.Output.Write(reply.Body);
            return Ok;
        }

        using var response = await context.Client.OpenStreamAsync($"{path}?follow=true{(attempt is null ? "" : "&" + attempt)}", null, context.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            OrchestratorClient.PrintProblem(await OrchestratorClient.ReadReplyAsync(response, context.CancellationToken), context.Error);
            return Failed;
        }

        await foreach (var frame in OrchestratorClient.ReadEventsAsync(response, context.CancellationToken))
        {
            if (context.Json)
            {
                context.Output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string> { ["event"] = frame.Type, ["data"] = frame.Data }));
            }
            else if (frame.Type == "log")
            {
                context.Output.WriteLine(frame.Data);
            }
            else if (frame.Type == "attempt")
            {
                context.Error.WriteLine($"mosaic-orchestrator: attempt {frame.Data} started");
            }

            if (frame.Type == "end")
            {
                // The whole log was followed; the agent's own outcome is for status or spawn --wait.
                if (!context.Json)
                {
                    context.Error.WriteLine($"mosaic-orchestrator: the agent ended: {frame.Data}");
                }

                return Ok;
            }
        }

        context.Error.WriteLine("mosaic-orchestrator: the log stream ended before the agent did (the service stopped)");
        return Unreachable;
    }

    private static async Task<int> DiffAsync(Context context)
    {
        var reply = await context.Client.SendAsync(HttpMethod.Get, $"agents/{context.AgentId}/diff", null, context.CancellationToken);
        if (!reply.Succeeded)
        {
            OrchestratorClient.PrintProblem(reply, context.Error);
            return Failed;
        }

        context.Output.Write(reply.Body);
        return Ok;
    }

    private static async Task<int> KillAsync(Context context)
    {
        var agentId = context.AgentId;
        var reply = await context.Client.SendAsync(HttpMethod.Post, $"agents/{agentId}/kill", ReasonBody(context), context.CancellationToken);
        if (!Printed(context, reply))
        {
            return Failed;
        }

        if (!context.Json)
        {
            context.Output.WriteLine(Text(reply.Json(), "message"));
        }

        return Ok;
    }

    private static async Task<int> KillAllAsync(Context context)
    {
        var reply = await context.Client.SendAsync(HttpMethod.Post, "agents/kill-all", ReasonBody(context), context.CancellationToken);
        if (!Printed(context, reply))
        {
            return Failed;
        }

        var report = reply.Json();
        if (!context.Json)
        {
            context.Output.WriteLine(Text(report, "message"));
            foreach (var failure in report.GetProperty("errors").EnumerateArray())
            {
                context.Error.WriteLine($"  {failure.GetRawText()}");
            }
        }

        return report.GetProperty("failed").GetInt32() == 0 ? Ok : Failed;
    }

    private static Task<int> WatchAsync(Context context)
    {
        var agent = context.Args.Value("--agent");
        if (agent is not null && !Guid.TryParse(agent, out _))
        {
            throw new UsageException($"--agent must be an agent id (got '{agent}')");
        }

        return FollowEventsAsync(context, agent, untilEnd: false);
    }

    private static Dictionary<string, string>? ReasonBody(Context context) =>
        context.Args.Value("--reason") is { } reason ? new Dictionary<string, string> { ["reason"] = reason } : null;

    /// <summary>
    /// Prints the lifecycle events of one agent (from its first) or of all (from now) from /agents/events, one line each. A stream that ends (the
    /// service restarting) is opened again with Last-Event-ID, so nothing is missed or printed twice. With
    /// <paramref name="untilEnd"/> it stops at the agent's end: 0 when it completed, 1 when it failed or was killed.
    /// The agent's record is read after each connect: an end that came before the stream opened is not waited for.
    /// </summary>
    private static async Task<int> FollowEventsAsync(Context context, string? agentId, bool untilEnd)
    {
        // One agent's stream starts with its history (replayed from the first event), so what happened before the
        // command connected is printed too; the whole service's starts now.
        string? lastId = agentId is null ? null : "0";
        var retries = 0;
        var path = "agents/events" + (agentId is null ? "" : $"?agentId={Uri.EscapeDataString(agentId)}");
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await context.Client.OpenStreamAsync(path, lastId, context.CancellationToken);
            }
            catch (ServiceUnreachableException) when (retries > 0 && retries < Reconnects)
            {
                retries++;
                await Task.Delay(ReconnectDelay, context.CancellationToken);
                continue;
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    OrchestratorClient.PrintProblem(await OrchestratorClient.ReadReplyAsync(response, context.CancellationToken), context.Error);
                    return Failed;
                }

                // Subscribed by now (the service subscribes before it answers): an end after this read is on the stream.
                if (!untilEnd && retries == 0 && lastId is null or "0")
                {
                    // Said once, on stderr: a person or a script knows from here on nothing is missed.
                    context.Error.WriteLine(agentId is null ? "watching every agent's events" : $"watching agent {agentId}'s events");
                    context.Error.Flush();
                }

                if (untilEnd && await EndedAsync(context, agentId!) is { } outcome)
                {
                    return outcome;
                }

                await foreach (var frame in OrchestratorClient.ReadEventsAsync(response, context.CancellationToken))
                {
                    lastId = frame.Id ?? lastId;
                    retries = 0;
                    PrintEvent(context, frame);
                    if (untilEnd && EndEvents.Contains(frame.Type))
                    {
                        return frame.Type == "agent.completed" ? Ok : Failed;
                    }
                }
            }

            if (++retries >= Reconnects)
            {
                context.Error.WriteLine($"mosaic-orchestrator: the event stream of {context.Client.Address} ended and could not be opened again");
                return Unreachable;
            }

            await Task.Delay(ReconnectDelay, context.CancellationToken);
        }
    }

    /// <summary>The exit code when the agent has already ended (its status printed), null while it is live.</summary>
    private static async Task<int?> EndedAsync(Context context, string agentId)
    {
        var reply = await context.Client.SendAsync(HttpMethod.Get, $"agents/{agentId}/status", null, context.CancellationToken);
        if (!reply.Succeeded)
        {
            OrchestratorClient.PrintProblem(reply, context.Error);
            return Failed;
        }

        var agent = reply.Json();
        var status = Text(agent, "status");
        if (status is not ("completed" or "failed" or "killed"))
        {
            return null;
        }

        context.Output.WriteLine(context.Json ? agent.GetRawText() : $"{Text(agent, "agentId")} {status}{(Text(agent, "reason") is { Length: > 0 } reason ? " " + reason : "")}");
        return status == "completed" ? Ok : Failed;
    }

    private static void PrintEvent(Context context, ServerSentEvent frame)
    {
        if (context.Json)
        {
            context.Output.WriteLine(frame.Data);
            return;
        }

        try
        {
            var agentEvent = JsonDocument.Parse(frame.Data).RootElement;
            var data = agentEvent.TryGetProperty("data", out var d) && d.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) ? " " + d.GetRawText() : "";
            context.Output.WriteLine($"{Text(agentEvent, "timestamp")} {frame.Type} {Text(agentEvent, "agentId")} {Text(agentEvent, "taskId")}{data}");
        }
        catch (JsonException)
        {
            context.Output.WriteLine($"{frame.Type} {frame.Data}");
        }
    }

    /// <summary>Prints a successful reply's JSON with --json, or a problem; whether it succeeded.</summary>
    private static bool Printed(Context context, ServiceReply reply)
    {
        if (!reply.Succeeded)
        {
            OrchestratorClient.PrintProblem(reply, context.Error);
            return false;
        }

        if (context.Json)
        {
            context.Output.WriteLine(reply.Body);
        }

        return true;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText() : null;
}
