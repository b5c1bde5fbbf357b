namespace Mosaic.Orchestrator.Tests.Support;

/// <summary>The checkout the tests were built from: its scripts and README are what a reader runs.</summary>
public static class Checkout
{
    private static readonly Lazy<string> Located = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "Mosaic.Orchestrator.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("the tests do not run inside a checkout of the repository");
    });

    public static string Root => Located.Value;

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
}
