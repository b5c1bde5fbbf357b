#!/usr/bin/env bash
# Runs the service on embedded defaults (SQLite under DATA_DIR, no server needed) and demonstrates the main job:
# spawn an agent, follow its lifecycle events, show its record and log. The service keeps running until Ctrl-C.
# Any setting of the README can be given in the environment; DEMO=0 skips the demonstration.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build -c Release -v quiet -nologo src/Mosaic.Orchestrator -o .build/service >/dev/null

export DATA_DIR=${DATA_DIR:-$PWD/data}
export ORCHESTRATOR_PORT=${ORCHESTRATOR_PORT:-3001}
export AGENT_RUNTIME=${AGENT_RUNTIME:-command}
export AGENT_COMMAND=${AGENT_COMMAND:-$PWD/scripts/demo-agent.sh}
# The demo's repository is a local bare one (a stand-in for GitHub), so local repositories are allowed here.
export ALLOW_LOCAL_REPOSITORIES=${ALLOW_LOCAL_REPOSITORIES:-true}
remote="$DATA_DIR/demo-remote.git"
if [[ "${DEMO:-1}" == 1 && ! -d "$remote" ]]; then
  seed=$(mktemp -d)
  git init -q --initial-branch=main "$seed"
  printf '# Demo project\n' > "$seed/README.md"
  # The repository declares its quality gates: the demo's "tests" check that the agent left a RESULT.md.
  mkdir -p "$seed/.mosaic"
  printf 'gates:\n  tests: { command: "test -s RESULT.md && echo RESULT.md is there", timeout: 60 }\n' > "$seed/.mosaic/gates.yml"
  git -C "$seed" add README.md .mosaic/gates.yml
  git -C "$seed" -c user.name=Demo -c user.email=demo@example.test commit -qm "initial"
  mkdir -p "$DATA_DIR"
  git clone -q --bare "$seed" "$remote"
  rm -rf "$seed"
fi
base="http://127.0.0.1:$ORCHESTRATOR_PORT"
key=()
[[ -n "${ORCHESTRATOR_API_KEY:-}" ]] && key=(-H "X-API-Key: $ORCHESTRATOR_API_KEY")

dotnet .build/service/mosaic-orchestrator.dll &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do curl -fs "$base/health" >/dev/null && break; sleep 0.2; done
echo "== readiness"; curl -s "$base/health/ready"; echo

if [[ "${DEMO:-1}" == 1 ]]; then
  task="demo-$(date +%s)"
  echo "== spawn $task"
  answer=$(curl -s "${key[@]}" -X POST "$base/agents/spawn" -H 'Content-Type: application/json' -d @- <<JSON
{"taskId":"$task","agentType":"worker","priority":7,
 "context":{"repository":"$remote","branch":"main","workItems":["US-001"],"skills":["csharp"]}}
JSON
)
  echo "$answer"
  agent=$(sed -E 's/.*"agentId":"([^"]+)".*/\1/' <<<"$answer")
  for _ in $(seq 150); do
    status=$(curl -s "${key[@]}" "$base/agents/$agent/status")
    [[ "$status" =~ \"status\":\"(completed|failed|killed)\" ]] && break
    sleep 0.2
  done
  sleep 0.5
  echo "== events (replayed from the history: GET /agents/events?since=0)"
  curl -sN --max-time 1 "${key[@]}" "$base/agents/events?since=0&agentId=$agent" | grep '^data:' || true
  echo "== record"; echo "$status"
  echo "== agent log ($DATA_DIR/agents/$agent/attempt-1.log)"; cat "$DATA_DIR/agents/$agent/attempt-1.log"
  branch=$(sed -E 's/.*"branch":"([^"]+)".*/\1/' <<<"$status")
  echo "== the pushed branch $branch in $remote"
  git -C "$remote" log --format='%h %an: %s' "$branch" || true
  git -C "$remote" show --stat --format= "$branch" || true
fi

echo "== the service runs on $base (Ctrl-C stops it)"
wait $service
