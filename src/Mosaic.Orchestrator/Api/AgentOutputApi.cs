using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mosaic.Orchestrator.Agents;
using Mosaic.Orchestrator.Configuration;
using Mosaic.Orchestrator.Processes;
using Mosaic.Orchestrator.Secrets;
using Mosaic.Orchestrator.Workspaces;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// What an agent produced, for the operator: its attempt logs (GET /agents/{id}/logs, plain or followed as SSE) and the
/// diff of its branch (GET /agents/{id}/diff). A log holds whatever the agent printed: it is served as text and never
/// interpreted, with each line in which the secret rules find a secret hidden (<see cref="SecretRedaction"/>). Logs are files of the node that ran the attempt (DATA_DIR/agents/&lt;id&gt;/attempt-&lt;n&gt;.log): another
/// node answers 404 for them.
/// </summary>
public static class AgentOutputApi
{
    /// <summary>How often a followed log is checked for new bytes and its agent for its end.</summary>
    public static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(200);

    public const int MaxDiffBytes = 10 * 1024 * 1024;

    public static async Task<Results<FileContentHttpResult, EmptyHttpResult, ValidationProblem, ProblemHttpResult>> Logs(
        string agentId, string? attempt, string? follow, HttpContext http, IAgentStore store, IOptions<OrchestratorOptions> options,
        IHostApplicationLifetime lifetime, EventStreamSlots slots, SecretRedaction redaction, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        int? chosen = null;
        if (attempt is not null)
        {
            if (int.TryParse(attempt, NumberStyles.None, CultureInfo.InvariantCulture, out var asked) && asked >= 1)
            {
                chosen = asked;
            }
            else
            {
                errors["attempt"] = ["must be a whole number from 1"];
            }
        }

        var following = false;
        if (follow is not null && !bool.TryParse(follow, out following))
        {
            errors["follow"] = ["must be true or false"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "Invalid query parameters: " + string.Join(", ", errors.Keys));
        }

        if (!Guid.TryParse(agentId, out var id) || await store.GetAsync(id, cancellationToken) is not { } agent)
        {
            return UnknownAgent(agentId);
        }

        var folder = AgentFolder.For(options.Value.FullDataDir, id);
        if (following)
        {
            using var slot = slots.TryTake(RateLimits.Caller(http));
            if (slot is null)
            {
                http.Response.Headers.RetryAfter = ((int)EventStreamSlots.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too Many Requests",
                    detail: $"This caller already has {slots.Limit} streams open (EVENT_STREAMS_PER_CALLER); close one or retry later.");
            }

            await LogFollower.StreamAsync(http, store, agent, folder, chosen, redaction, time, lifetime.ApplicationStopping);
            return TypedResults.Empty;
        }

        var number = chosen ?? agent.Attempt;
        var path = folder.AttemptLog(number);
        if (number < 1 || !File.Exists(path))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found",
                detail: number < 1 ? $"Agent {id} has not started an attempt yet; there is no log." : $"Agent {id} has no log of attempt {number} on this node.");
        }

        var tail = await ReadTailAsync(path, options.Value.AgentLogMaxBytes, cancellationToken);
        var text = Encoding.UTF8.GetString(tail);
        var redacted = redaction.Redact(text);
        // Unchanged text is served as the bytes it was read as (a tail cut inside a character stays as it was).
        return TypedResults.Bytes(ReferenceEquals(redacted, text) ? tail : Encoding.UTF8.GetBytes(redacted), "text/plain; charset=utf-8");
    }

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> Diff(
        string agentId, IAgentStore store, IWorkspaceInspector inspector, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(agentId, out var id) || await store.GetAsync(id, cancellationToken) is not { } agent)
        {
            return UnknownAgent(agentId);
        }

        if (agent.BaseCommit is null || agent.HeadCommit is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found",
                detail: $"Agent {id} has no commit yet (it is {agent.Status.ToString().ToLowerInvariant()}); its diff exists once its work is committed.");
        }

        BoundedDiff diff;
        try
        {
            diff = await inspector.DiffAsync(agent, MaxDiffBytes, cancellationToken);
        }
        catch (GitException ex)
        {
            // Retention or a removed cache took the commits; the record alone cannot rebuild them.
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found",
                detail: $"The commits of agent {id} ({agent.BaseCommit[..Math.Min(12, agent.BaseCommit.Length)]}..{agent.HeadCommit[..Math.Min(12, agent.HeadCommit.Length)]}) cannot be read from the repository cache: {ex.Message}");
        }

        var redacted = DiffRedaction.Redact(diff.Text, agent.SecretFindings);
        var text = diff.Truncated ? redacted + $"[mosaic: diff truncated at {MaxDiffBytes} bytes]\n" : redacted;
        return TypedResults.Text(text, "text/x-diff; charset=utf-8");
    }

    /// <summary>The whole file, or its last <paramref name="maxBytes"/> when it grew past them (its writer caps it too).</summary>
    private static async Task<byte[]> ReadTailAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
        // The agent's run may still append: share writing.
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = file.Length;
        var start = Math.Max(0, length - maxBytes);
        file.Seek(start, SeekOrigin.Begin);
        var bytes = new byte[length - start];
        await file.ReadExactlyAsync(bytes, cancellationToken);
        return bytes;
    }

    private static ProblemHttpResult UnknownAgent(string agentId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"Agent {agentId} not found.");
}

/// <summary>
/// A log followed as Server-Sent Events: <c>event: log</c> with one line as <c>data:</c> for each line the file gains,
/// <c>event: attempt</c> when a retry starts a new log (unless one attempt was asked for), and one <c>event: end</c>
/// (data: the agent's status) once the agent has ended and its log is read to the end; then the stream closes. The file
/// and the record are polled every <see cref="AgentOutputApi.FollowPoll"/>: logs are plain files of the runtime's
/// writing, with no change feed, and a poll also covers a log that does not exist yet (the agent still spawning).
/// </summary>
internal static class LogFollower
{
    public static async Task StreamAsync(
        HttpContext http, IAgentStore store, AgentRecord agent, AgentFolder folder, int? onlyAttempt, SecretRedaction redaction, TimeProvider time, CancellationToken stopping)
    {
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        var cancellationToken = ends.Token;
        var response = http.Response;
        ServerSentEvents.Begin(http);
        try
        {
            await ServerSentEvents.CommentAsync(response, "connected", cancellationToken);
            await PumpAsync(response, store, agent, folder, onlyAttempt, redaction, time, cancellationToken);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            await ServerSentEvents.CommentAsync(response, "service stopping", http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    private static async Task PumpAsync(
        HttpResponse response, IAgentStore store, AgentRecord agent, AgentFolder folder, int? onlyAttempt, SecretRedaction redaction, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var attempt = onlyAttempt ?? Math.Max(1, agent.Attempt);
        var reader = new LineReader();
        var idleSince = time.GetUtcNow();
        while (true)
        {
            // The record first, the file after: what the agent wrote before it ended is in the file by then.
            var latest = await store.GetAsync(agent.AgentId, cancellationToken) ?? agent;
            var ended = AgentLifecycle.IsTerminal(latest.Status);
            var sent = await SendNewLinesAsync(response, reader, folder.AttemptLog(attempt), redaction, cancellationToken);
            if (onlyAttempt is null && latest.Attempt > attempt)
            {
                // A retry writes a new log: finish this one and go on with the next.
                sent |= await WriteLastLineAsync(response, reader, redaction, cancellationToken);
                attempt = latest.Attempt;
                reader = new LineReader();
                await WriteFrameAsync(response, "attempt", attempt.ToString(CultureInfo.InvariantCulture), cancellationToken);
                continue;
            }

            if (ended)
            {
                await WriteLastLineAsync(response, reader, redaction, cancellationToken);
                await WriteFrameAsync(response, "end", latest.Status.ToString().ToLowerInvariant(), cancellationToken);
                return;
            }

            if (sent)
            {
                idleSince = time.GetUtcNow();
            }
            else if (time.GetUtcNow() - idleSince > EventStream.KeepAlive)
            {
                idleSince = time.GetUtcNow();
                await ServerSentEvents.CommentAsync(response, "keep-alive", cancellationToken);
            }

            await Task.Delay(AgentOutputApi.FollowPoll, time, cancellationToken);
        }
    }

    private static async Task<bool> SendNewLinesAsync(HttpResponse response, LineReader reader, string path, SecretRedaction redaction, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (file.Length <= reader.Position)
        {
            return false;
        }

        file.Seek(reader.Position, SeekOrigin.Begin);
        var buffer = new byte[64 * 1024];
        var sent = false;
        int read;
        while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
        {
            // The lines of one read are scanned together, so a secret spread over lines (a private key) is found.
            foreach (var line in redaction.RedactLines(reader.Feed(buffer.AsSpan(0, read))))
            {
                await WriteFrameAsync(response, "log", line, cancellationToken);
                sent = true;
            }
        }

        return sent;
    }

    /// <summary>The last line when it has no line end (the agent ended mid-line); false when there is none.</summary>
    private static async Task<bool> WriteLastLineAsync(HttpResponse response, LineReader reader, SecretRedaction redaction, CancellationToken cancellationToken)
    {
        if (reader.Flush() is not { } line)
        {
            return false;
        }

        await WriteFrameAsync(response, "log", redaction.Redact(line), cancellationToken);
        return true;
    }

    private static Task WriteFrameAsync(HttpResponse response, string type, string data, CancellationToken cancellationToken) =>
        ServerSentEvents.EventAsync(response, type, data, cancellationToken);

    /// <summary>
    /// Bytes to lines: a stateful UTF-8 decoder (a character split between two reads stays whole; invalid bytes become
    /// U+FFFD), lines split at \n, \r\n and a lone \r, since SSE ends a data line at any of them and a carriage return
    /// kept inside would cut the frame.
    /// </summary>
    private sealed class LineReader
    {
        private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
        private readonly StringBuilder _partial = new();
        private bool _afterCarriageReturn;

        public long Position { get; private set; }

        public List<string> Feed(ReadOnlySpan<byte> bytes)
        {
            Position += bytes.Length;
            var chars = new char[_decoder.GetCharCount(bytes, flush: false)];
            _decoder.GetChars(bytes, chars, flush: false);
            var lines = new List<string>();
            foreach (var c in chars)
            {
                if (c == '\n' && _afterCarriageReturn)
                {
                    _afterCarriageReturn = false;
                    continue;
                }

                _afterCarriageReturn = c == '\r';
                if (c is '\n' or '\r')
                {
                    lines.Add(_partial.ToString());
                    _partial.Clear();
                }
                else
                {
                    _partial.Append(c);
                }
            }

            return lines;
        }

        /// <summary>The last line when it has no line end (the agent ended mid-line); null when there is none.</summary>
        public string? Flush()
        {
            if (_partial.Length == 0)
            {
                return null;
            }

            var rest = _partial.ToString();
            _partial.Clear();
            return rest;
        }
    }
}
