using Microsoft.AspNetCore.Diagnostics;

namespace Mosaic.Orchestrator.Api;

/// <summary>
/// A body that breaks HTTP's own framing while an endpoint reads it (a chunk size that is not hex, a body cut short)
/// surfaces from the read as Kestrel's BadHttpRequestException; it carries its status (400, 408, 413) and is the
/// caller's mistake, so it answers that status as a problem instead of a 500 (found by the fault suite's header abuse).
/// </summary>
public sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = bad.StatusCode, Title = "Bad request", Detail = $"the request's body is not valid HTTP: {bad.Message}" },
        });
    }
}
