namespace Mosaic.Orchestrator.Cli;

/// <summary>A command line the client could not read: exit code 2 with the command's usage.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The arguments of one client command: options that take a value (<c>--name value</c> or <c>--name=value</c>, some
/// repeatable), flags, and positional arguments. Anything else is a <see cref="UsageException"/>.
/// </summary>
public sealed class ClientArguments
{
    /// <summary>Every client command takes these.</summary>
    public static readonly string[] CommonValues = ["--url", "--api-key"];
    public static readonly string[] CommonFlags = ["--json"];

    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private ClientArguments()
    {
    }

    public List<string> Positionals { get; } = [];

    /// <param name="aliases">Short names of flags, e.g. -f for --follow.</param>
    public static ClientArguments Parse(
        IReadOnlyList<string> args, IReadOnlyCollection<string> values, IReadOnlyCollection<string> flags, int maxPositionals, IReadOnlyDictionary<string, string>? aliases = null)
    {
        var parsed = new ClientArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (aliases?.GetValueOrDefault(arg) is { } full)
            {
                arg = full;
            }

            if (!arg.StartsWith('-') || arg == "-")
            {
                if (parsed.Positionals.Count == maxPositionals)
                {
                    throw new UsageException(maxPositionals == 0 ? $"unexpected argument '{arg}'" : $"unexpected extra argument '{arg}'");
                }

                parsed.Positionals.Add(arg);
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? arg[..equals] : arg;
            if (values.Contains(name) || CommonValues.Contains(name))
            {
                string value;
                if (equals > 0)
                {
                    value = arg[(equals + 1)..];
                }
                else if (i + 1 < args.Count)
                {
                    value = args[++i];
                }
                else
                {
                    throw new UsageException($"{name} needs a value");
                }

                if (!parsed._values.TryGetValue(name, out var list))
                {
                    parsed._values[name] = list = [];
                }

                list.Add(value);
            }
            else if ((flags.Contains(name) || CommonFlags.Contains(name)) && equals < 0)
            {
                parsed._flags.Add(name);
            }
            else
            {
                throw new UsageException($"unknown option '{arg}'");
            }
        }

        return parsed;
    }

    public bool Has(string flag) => _flags.Contains(flag);

    /// <summary>The value of an option given once at most (the last one wins); null when not given.</summary>
    public string? Value(string name) => _values.TryGetValue(name, out var list) ? list[^1] : null;

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var list) ? list : [];

    public string Required(string name) => Value(name) is { Length: > 0 } value ? value : throw new UsageException($"{name} is required");
}
