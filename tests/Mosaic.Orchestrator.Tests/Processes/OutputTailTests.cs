using System.Text;
using Mosaic.Orchestrator.Processes;

namespace Mosaic.Orchestrator.Tests.Processes;

public sealed class OutputTailTests
{
    [Fact]
    public void It_keeps_the_last_characters_of_many_lines()
    {
        var tail = new OutputTail(new OutputTailOptions(10));
        var all = new StringBuilder();
        for (var i = 0; i < 1000; i++)
        {
            var line = $"line {i}";
            tail.Add(Encoding.UTF8.GetBytes(line), standardError: i % 2 == 0);
            all.Append(line).Append('\n');
        }

        Assert.Equal(all.ToString()[^10..], tail.Text);
        Assert.Equal("\nline 999\n", tail.Text);
    }

    [Fact]
    public void Short_output_is_kept_whole_and_no_output_is_null()
    {
        var tail = new OutputTail(new OutputTailOptions(100));
        Assert.Null(tail.Text);

        tail.Add("one"u8, standardError: false);
        tail.Add("two"u8, standardError: true);

        Assert.Equal("one\ntwo\n", tail.Text);
    }

    [Theory]
    [InlineData(OutputStreams.StandardOutput, "out\n")]
    [InlineData(OutputStreams.StandardError, "err\n")]
    public void It_keeps_only_the_streams_it_was_asked_for(OutputStreams streams, string expected)
    {
        var tail = new OutputTail(new OutputTailOptions(100, streams));

        tail.Add("out"u8, standardError: false);
        tail.Add("err"u8, standardError: true);

        Assert.Equal(expected, tail.Text);
    }

    [Fact]
    public void A_line_longer_than_the_cap_leaves_its_end()
    {
        var tail = new OutputTail(new OutputTailOptions(5));

        tail.Add(Encoding.UTF8.GetBytes(new string('a', 100) + "bcd"), standardError: false);

        Assert.Equal("abcd\n", tail.Text);
    }
}
