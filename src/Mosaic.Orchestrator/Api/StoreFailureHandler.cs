using Microsoft.AspNetCore.Diagnostics;
using Mosaic.Orchestrator.Storage;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// A store write that failed for want of room answers 507 and one that could not reach the store 503 (with
/// Retry-After), each a problem with a detail that says what to do, instead of a bare 500 (spawn and kill on a full
/// disk did). Nothing of the request was stored: the store's write is all or nothing.
/// </summary>
public sealed partial class StoreFailureHandler(IProblemDetailsService problems, ILogger<StoreFailureHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (StoreFailures.Describe(exception) is not { } failure)
        {
            return false;
        }

        LogStoreFailure(logger, failure.Status, httpContext.Request.Method, httpContext.Request.Path, failure.Detail);
        httpContext.Response.StatusCode = failure.Status;
        if (failure.Status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "5";
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = failure.Status, Title = failure.Title, Detail = failure.Detail },
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Status} to {Method} {Path}: {Detail}")]
    private static partial void LogStoreFailure(ILogger logger, int status, string method, string path, string detail);
}
