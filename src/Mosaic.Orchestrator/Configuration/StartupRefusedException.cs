namespace Mosaic.Orchestrator.Configuration;

/// <summary>
/// The service cannot start as configured (its DATA_DIR or NODE_ID is taken, its server too old...). The message is
/// one line for the operator; the command line prints it and exits 1, with no stack trace.
/// </summary>
public class StartupRefusedException(string message) : Exception(message);
