using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace Mosaic.Orchestrator.Dashboard;

/// <summary>
/// The operator's dashboard: a page at / and its scripts and styles at /dashboard/*, embedded in the executable
/// (plain HTML, CSS and JavaScript modules; nothing to build). These files are public: they are the same bytes for
/// every caller, hold no data and no key, and a browser cannot attach X-API-Key to a page it navigates to. Every figure
/// the page shows comes from /agents*, which the page calls with the key the operator typed (kept in the tab's
/// sessionStorage, sent as the header, never in a URL). The Content-Security-Policy allows scripts and styles from
/// this origin only (no inline script) and calls to this origin only; agent-provided text is put in the page as text.
/// </summary>
public static class DashboardApi
{
    public const string AssetsPath = "/dashboard";

    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string ResourcePrefix = "Mosaic.Orchestrator.Dashboard.Assets.";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    /// <summary>Every embedded asset by file name, read once: the set is small (tens of KiB) and never changes while the service runs.</summary>
    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Serve(http, "index.html")).ExcludeFromDescription();
        app.MapGet(AssetsPath + "/{file}", (HttpContext http, string file) => Serve(http, file)).ExcludeFromDescription();
        return app;
    }

    /// <summary>The names of the embedded files (for tests: every one is served, none is missing).</summary>
    public static IReadOnlyCollection<string> FileNames => Assets.Value.Keys;

    private static IResult Serve(HttpContext http, string file)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        if (!Assets.Value.TryGetValue(file, out var asset))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"The dashboard has no file {file}.");
        }

        // Revalidated on every load (cheap: 304 by ETag), so a new version of the service is never mixed with old scripts.
        headers.CacheControl = "no-cache";
        return TypedResults.Bytes(asset.Content, asset.ContentType, entityTag: asset.ETag);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardApi).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var file = name[ResourcePrefix.Length..];
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream");
            var tag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
            assets[file] = new Asset(content, type, tag);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record Asset(byte[] Content, string ContentType, EntityTagHeaderValue ETag);
}
