namespace Mosaic.Orchestrator.Processes;

/// <summary>The environment entry every agent process carries, so its processes can be found even after a restart.</summary>
public static class AgentMarker
{
    public const string Name = "MOSAIC_AGENT_ID";

    public static string For(Guid agentId) => $"{Name}={agentId}";
}
