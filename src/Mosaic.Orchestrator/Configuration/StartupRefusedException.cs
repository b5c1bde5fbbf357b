namespace Mosaic.Orchestrator.Configuration;

/// <summary>
/// The service cannot start as configured, for a reason the operator can fix (a setting, a DATA_DIR or NODE_ID
/// another instance holds). Its message is the one line printed after "mosaic-orchestrator: refusing to start:",
/// with no stack trace. Not sealed: each backend's refusal derives from it, so start-up catches one type.
/// </summary>
public class StartupRefusedException(string message, Exception? inner = null) : Exception(message, inner);
