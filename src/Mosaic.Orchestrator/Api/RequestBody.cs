using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// Reads a JSON body: malformed JSON is a 400, a body over MAX_REQUEST_BODY_BYTES a 413, never a 500. A required body
/// must say it is JSON (415 otherwise). An optional body (kill's {"reason"}) is read whatever its content type:
/// `curl -d` sends form encoding unless told otherwise, and an empty body must never stop a kill.
/// </summary>
public static class RequestBody
{
    /// <summary>What was read; <see cref="NotJson"/> when a body was there but did not parse (Problem says so too).</summary>
    public sealed record Read(JsonDocument? Document, ProblemHttpResult? Problem, bool NotJson = false);

    public static async Task<Read> ReadJsonAsync(HttpRequest request, long maxBytes, bool optional, CancellationToken cancellationToken, string limitName = "MAX_REQUEST_BODY_BYTES")
    {
        if (request.ContentLength > maxBytes)
        {
            return new Read(null, TooLarge(maxBytes, limitName));
        }

        if (optional && request.ContentLength == 0)
        {
            return new Read(null, null);
        }

        if (!optional)
        {
            if (request.ContentType is not { } type || !type.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                return new Read(null, TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType,
                    title: "Unsupported Media Type", detail: "Send the body as application/json."));
            }
        }

        try
        {
            // Kestrel stops a body at MAX_REQUEST_BODY_BYTES (its MaxRequestBodySize) while it is read.
            var body = await request.BodyReader.ReadAtLeastAsync(int.MaxValue, cancellationToken).AsTask();
            var buffer = body.Buffer;
            try
            {
                if (buffer.Length > maxBytes)
                {
                    return new Read(null, TooLarge(maxBytes, limitName));
                }

                if (buffer.Length == 0)
                {
                    return optional ? new Read(null, null)
                        : new Read(null, TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad Request", detail: "The request body is empty; a JSON object is required."));
                }

                // A copy: the document must not point into pipe memory that is reused after AdvanceTo.
                return new Read(JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 32 }), null);
            }
            finally
            {
                request.BodyReader.AdvanceTo(buffer.End);
            }
        }
        catch (JsonException ex)
        {
            return new Read(null, TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON",
                detail: $"The request body is not valid JSON: {ex.Message}"), NotJson: true);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new Read(null, TooLarge(maxBytes, limitName));
        }
    }

    private static ProblemHttpResult TooLarge(long maxBytes, string limitName) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload Too Large",
            detail: $"The request body is larger than {limitName} ({maxBytes} bytes).");
}
