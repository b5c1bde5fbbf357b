using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// An optional JSON body of one text field ({"reason": "..."} of a kill, {"instructions": "..."} of a resume): no body,
/// an empty one (whatever its content type) or that object. A body that is there but is not that is a 400 naming the
/// field, and the request does nothing: the caller meant to say something, and it would be lost.
/// </summary>
public sealed record OptionalTextBody(string Field, int MaxChars, bool Multiline, string Request, string Done)
{
    public static readonly OptionalTextBody KillReason = new("reason", 500, Multiline: false, "kill", "killed");

    public static readonly OptionalTextBody ResumeInstructions = new("instructions", 4000, Multiline: true, "resume", "resumed");

    public sealed record Read(string? Text, ProblemHttpResult? Problem);

    public async Task<Read> ReadAsync(HttpContext http, long maxBytes, CancellationToken cancellationToken)
    {
        var read = await RequestBody.ReadJsonAsync(http.Request, maxBytes, optional: true, cancellationToken);
        if (read.NotJson)
        {
            return new Read(null, Invalid("The body is not JSON. "));
        }

        if (read.Problem is not null || read.Document is null)
        {
            return new Read(null, read.Problem);
        }

        using var document = read.Document;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return new Read(null, Invalid());
        }

        if (!root.TryGetProperty(Field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return new Read(null, null);
        }

        // Text() refuses strings that are not valid Unicode (invalid UTF-8, lone surrogates) instead of throwing.
        return value.ValueKind == JsonValueKind.String && SpawnRequestReader.Text(value, Field, []) is { } text && text.Length <= MaxChars && text.All(Allowed)
            ? new Read(text, null)
            : new Read(null, Invalid());
    }

    private bool Allowed(char c) => !char.IsControl(c) || (Multiline && c is '\n' or '\t');

    private ProblemHttpResult Invalid(string why = "") =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "One or more validation errors occurred.",
            detail: why + $"Invalid field: {Field}. The {Request} body is optional; when sent it must be JSON: {{\"{Field}\": \"<at most {MaxChars} characters>\"}}. Nothing was {Done}.",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [Field] = [$"must be a string of at most {MaxChars} characters"] } });
}
