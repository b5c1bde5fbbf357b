#!/bin/sh
# The demo's stand-in for a coding agent (the command runtime runs it in the agent's workspace):
# it reads its task from the environment, "works" for a moment, and leaves a file behind.
echo "agent $MOSAIC_AGENT_ID ($MOSAIC_AGENT_TYPE) working on task $MOSAIC_TASK_ID"
echo "prompt:"; sed 's/^/  | /' "$MOSAIC_PROMPT_FILE"
sleep 2
printf 'Task %s done by %s\n' "$MOSAIC_TASK_ID" "$MOSAIC_AGENT_ID" > RESULT.md
echo "wrote RESULT.md in its worktree $(pwd)"
