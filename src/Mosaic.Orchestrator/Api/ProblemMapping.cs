using Microsoft.AspNetCore.Diagnostics;
using Mosaic.Orchestrator.Agents;

namespace Mosaic.Orchestrator.Api;

/// <summary>Typed exceptions that escape a handler become the problem+json answer they stand for; anything else is a logged 500.</summary>
public sealed class ProblemMapping(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        (int status, string title)? mapped = exception switch
        {
            IllegalTransitionException => (StatusCodes.Status409Conflict, "Conflict"),
            AgentNotFoundException => (StatusCodes.Status404NotFound, "Not Found"),
            BadHttpRequestException bad => (bad.StatusCode, "Bad Request"),
            _ => null,
        };
        if (mapped is not { } problem)
        {
            return false;
        }

        httpContext.Response.StatusCode = problem.status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = { Status = problem.status, Title = problem.title, Detail = exception.Message },
            Exception = exception,
        });
    }
}
