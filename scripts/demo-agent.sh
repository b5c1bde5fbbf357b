#!/bin/sh
# The demo's stand-in for a coding agent (the command runtime runs it in the agent's worktree). It does the demo's work
# item the way a model is asked to in its prompt (MOSAIC_PROMPT_FILE): "US-001: add a file RESULT.md at the top of the
# repository that summarises the repository in one paragraph". The demo's gate (.mosaic/gates.yml) checks exactly that.
set -eu
echo "agent $MOSAIC_AGENT_ID ($MOSAIC_AGENT_TYPE) on task $MOSAIC_TASK_ID, attempt ${MOSAIC_ATTEMPT:-1}"
echo "its work items, from the prompt:"
sed -n 's/^- /  - /p' "$MOSAIC_PROMPT_FILE"
sleep 1 # "works" for a moment, so the demo shows it running

title=$(sed -n 's/^# //p' README.md 2>/dev/null | head -n 1)
files=$(git ls-files | wc -l | tr -d ' ')
names=$(git ls-files | head -n 6 | sed 's/^/`/; s/$/`/' | paste -s -d, - | sed 's/,/, /g')
commits=$(git rev-list --count HEAD)
latest=$(git log -1 --format=%s)
cat > RESULT.md <<EOF
${title:-This repository} is a small git repository of $files tracked files ($names) with $commits commit(s), the
latest being "$latest". It declares its quality gates in \`.mosaic/gates.yml\`, whose tests gate checks that this
summary exists, and it is the repository that the Mosaic Orchestrator demo spawns an agent on: task $MOSAIC_TASK_ID
asked that agent for this paragraph.
EOF
echo "wrote RESULT.md ($(wc -w < RESULT.md | tr -d ' ') words) in its worktree $(pwd)"
