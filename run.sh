#!/usr/bin/env bash
# Runs the service on embedded defaults (SQLite under DATA_DIR, no server needed) and demonstrates the main job: spawn
# an agent on a small local repository, follow it to its end, and summarise what it did (status, gates, the pushed
# branch). The service keeps running until Ctrl-C. Any setting of the README can be given in the environment, and:
#   DEMO=0                   start the service without the demonstration
#   SERVE=0                  stop the service after the demonstration; the exit status is then the demo's (0 = completed)
#   DEMO_TIMEOUT_MINUTES=15  how long the demonstration waits for its agent (a Claude Code run takes minutes)
# It exits non-zero, with the service's own words, when the service does not start (port or DATA_DIR in use, a bad
# setting), and it only ever talks to the service it started.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p .build
echo "== building the service (Release) into .build/service"
if ! dotnet build -c Release -v quiet -nologo src/Mosaic.Orchestrator -o .build/service >.build/build.log 2>&1; then
  cat .build/build.log >&2
  exit 1
fi
# A launcher for this build (scripts/install.sh installs a copy that outlives rebuilds, and puts it on PATH).
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
mkdir -p .build/bin
printf '#!/bin/sh\n# Written by run.sh: runs the build in .build/service.\nexec %s %s "$@"\n' \
  "$(quote "$(command -v dotnet)")" "$(quote "$PWD/.build/service/mosaic-orchestrator.dll")" >.build/bin/mosaic-orchestrator
chmod 755 .build/bin/mosaic-orchestrator

export DATA_DIR=${DATA_DIR:-$PWD/data}
export ORCHESTRATOR_PORT=${ORCHESTRATOR_PORT:-3001}
export AGENT_RUNTIME=${AGENT_RUNTIME:-command}
if [ "${SANDBOX_ENABLED:-false}" = true ]; then
  # In the sandbox the agent sees nothing of this checkout: it gets the script's text, not its path.
  export AGENT_COMMAND=${AGENT_COMMAND:-$(cat "$PWD/scripts/demo-agent.sh")}
else
  export AGENT_COMMAND=${AGENT_COMMAND:-$PWD/scripts/demo-agent.sh}
fi
# The demo's repository is a local bare one (a stand-in for GitHub), so local repositories are allowed here.
export ALLOW_LOCAL_REPOSITORIES=${ALLOW_LOCAL_REPOSITORIES:-true}
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
key=()
[[ -n "${ORCHESTRATOR_API_KEY:-}" ]] && key=(-H "X-API-Key: $ORCHESTRATOR_API_KEY")

# Gate 1: the port is free. Otherwise whatever listens there (another orchestrator, anything) would answer the demo.
bind_host=${ORCHESTRATOR_HOST:-127.0.0.1}
[[ "$bind_host" == localhost ]] && bind_host=127.0.0.1
bind_host=${bind_host#[}
bind_host=${bind_host%]}
if [[ "$ORCHESTRATOR_PORT" != 0 ]] && ! python3 - "$bind_host" "$ORCHESTRATOR_PORT" <<'PY'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Kestrel does: a port in TIME_WAIT is free
try:
    s.bind((host, port))
except OSError:
    sys.exit(1)
PY
then
  echo "run.sh: port $ORCHESTRATOR_PORT ($bind_host) is already in use, so the service could not listen there." >&2
  if command -v ss >/dev/null && owner=$(ss -Hltnp "sport = :$ORCHESTRATOR_PORT" 2>/dev/null | grep -o 'users:.*' | head -n 1) && [[ -n "$owner" ]]; then
    echo "run.sh: it is held by $owner" >&2
  fi
  if answer=$(curl -fs --max-time 2 "http://127.0.0.1:$ORCHESTRATOR_PORT/health" 2>/dev/null); then
    echo "run.sh: what answers there: GET /health -> $answer (another orchestrator?)" >&2
  fi
  free=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "run.sh: stop it, or pick another port: ORCHESTRATOR_PORT=$free ./run.sh" >&2
  exit 1
fi

# The service logs to a file of its own; the demo prints a summary, and the log is followed afterwards.
mkdir -p "$DATA_DIR/run"
log="$DATA_DIR/run/service-$(date +%Y%m%d-%H%M%S)-$$.log"
: >"$log" # there before the background job opens it, so this script can read it at once
# The "Now listening on" line (Microsoft.Hosting.Lifetime) is how this script learns where its own service listens.
dotnet .build/service/mosaic-orchestrator.dll --Logging:LogLevel:Microsoft.Hosting.Lifetime=Information >"$log" 2>&1 &
service=$!
stop_service() {
  if kill -0 "$service" 2>/dev/null; then
    kill -TERM "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true
  fi
}
trap stop_service EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The service's own words when it stopped: its "refusing to start" lines, else its first exception message.
service_error() {
  if grep -q 'refusing to start' "$log"; then
    sed -n '/refusing to start/,$p' "$log" | grep -v '^ *at ' | head -n 12
  elif grep -qE 'Exception: ' "$log"; then
    grep -m 1 -E 'Exception: ' "$log" | sed -E 's/^.*Exception: //'
  else
    tail -n 20 "$log"
  fi
}

# Gate 2: our process says where it listens, /health answers there, and our process is still alive afterwards.
echo "== starting the service (log: $log)"
base=""
deadline=$((SECONDS + ${START_TIMEOUT_SECONDS:-120}))
while :; do
  if ! kill -0 "$service" 2>/dev/null; then
    code=0
    wait "$service" || code=$?
    trap - EXIT
    echo "run.sh: the service did not start (exit code $code):" >&2
    service_error | sed 's/^/  /' >&2
    echo "run.sh: its whole log: $log" >&2
    exit 1
  fi
  if [[ -z "$base" ]]; then
    address=$(sed -n 's/.*Now listening on: \(https\{0,1\}:\/\/[^ ]*\).*/\1/p' "$log" | head -n 1)
    # A wildcard address is reached on loopback.
    base=$(sed -e 's#//0\.0\.0\.0:#//127.0.0.1:#' -e 's#//\[::\]:#//[::1]:#' <<<"$address")
  fi
  if [[ -n "$base" ]] && curl -fs --max-time 2 "$base/health" >/dev/null && kill -0 "$service" 2>/dev/null; then
    break
  fi
  if ((SECONDS >= deadline)); then
    echo "run.sh: the service did not answer on ${base:-its port} within ${START_TIMEOUT_SECONDS:-120} s; its log: $log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "== the service (pid $service) listens on $base; its dashboard: $base/"

ready=$(curl -s --max-time 60 "$base/health/ready" || true)
ready_ok=0
python3 - "$ready" <<'PY' || ready_ok=$?
import json, sys
try:
    body = json.loads(sys.argv[1])
except ValueError:
    print("== readiness: no answer from /health/ready"); sys.exit(1)
checks = body.get("checks", {})
if body.get("status") == "ready":
    print("== ready: " + ", ".join(f"{name} ({c.get('detail')})" if c.get("detail") else name for name, c in checks.items()))
    sys.exit(0)
print("== NOT ready:")
for name in body.get("failing", []):
    print(f"   {name}: {checks.get(name, {}).get('detail', '')}")
sys.exit(1)
PY

demo_status=0
if [[ "${DEMO:-1}" == 1 && $ready_ok != 0 ]]; then
  echo "== the demonstration needs a ready service: fix the above and run ./run.sh again"
  demo_status=1
elif [[ "${DEMO:-1}" == 1 ]]; then
  remote="$DATA_DIR/demo-remote.git"
  [[ -d "$remote" ]] || bash scripts/demo-repository.sh "$remote"
  task="demo-$(date +%Y%m%d-%H%M%S)"
  work=$(bash scripts/demo-repository.sh --work-item)
  body=$(python3 -c 'import json, sys; print(json.dumps({"taskId": sys.argv[1], "agentType": "worker", "priority": 7,
    "context": {"repository": sys.argv[2], "branch": "main", "workItems": [sys.argv[3]], "skills": ["shell", "technical writing"]}}))' \
    "$task" "$remote" "$work")
  answer=$(curl -s -w '\n%{http_code}' "${key[@]}" -X POST "$base/agents/spawn" -H 'Content-Type: application/json' -d "$body")
  code=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  if [[ "$code" != 202 ]]; then
    echo "run.sh: POST /agents/spawn answered $code: $answer" >&2
    demo_status=1
  else
    agent=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["agentId"])' <<<"$answer")
    echo "== spawned agent $agent ($AGENT_RUNTIME runtime): task $task, a worker on $remote"
    echo "   work item: $work"
    timeout_minutes=${DEMO_TIMEOUT_MINUTES:-15}
    echo "   following it (up to $timeout_minutes min):"
    python3 scripts/follow-agent.py "$agent" --base "$base" --timeout $((timeout_minutes * 60)) \
      --service-pid "$service" --data-dir "$DATA_DIR" --show RESULT.md || demo_status=$?
  fi
fi

if [[ "${SERVE:-1}" == 0 ]]; then
  exit "$demo_status"
fi
echo "== the service runs on $base (pid $service; Ctrl-C stops it). Its log follows ($log):"
# The demo showed its own summary; without it, the whole log so far. The follower runs in the background so that a
# signal to this script alone (kill, a supervisor's TERM) is handled at once: bash runs traps only between commands.
tail -n "$([[ "${DEMO:-1}" == 1 ]] && echo 0 || echo +1)" --pid="$service" -f "$log" &
code=0
wait "$service" || code=$?
trap - EXIT
sleep 1.5 # tail --pid notices within a second, and prints the service's last lines
echo "run.sh: the service stopped (exit code $code)"
exit "$code"
