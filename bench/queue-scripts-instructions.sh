#!/usr/bin/env bash
# The Valkey queue's Lua work per task, counted in instructions: redis-server runs under valgrind's callgrind, and
# bench/queue-scripts-harness.lua runs the scripts' functions (common.lua) for N tasks inside one EVAL. Instructions
# do not move with the machine's load as times do (on this shared machine the same build's redis-server CPU per job
# moved from 58 to 95 us between runs minutes apart), so two versions of the scripts compare in one run each.
# Prints thousands of instructions per task for enqueue, lease and end. Needs redis-server and valgrind
# (apt-get install -y valgrind). Usage: bench/queue-scripts-instructions.sh [tasks=1000] [scripts folder]
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-1000}
scripts=${2:-src/Mosaic.Orchestrator/Storage/Valkey/Scripts}
command -v redis-server >/dev/null || { echo "redis-server is required (scripts/setup.sh installs it)" >&2; exit 1; }
command -v callgrind_control >/dev/null || { echo "valgrind is required: apt-get install -y valgrind" >&2; exit 1; }

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# hz 1: the server's timer work runs ten times less often; under valgrind a task takes fifty times longer, and that
# work would otherwise be counted with it.
valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --hz 1 --dynamic-hz no \
  >"$dir/valgrind.log" 2>&1 &
server=$!
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.5; done

sha=$(redis-cli -p "$port" script load "$(cat "$scripts/common.lua" bench/queue-scripts-harness.lua)")
declare -A counted
for phase in enqueue-args enqueue lease-args lease end-args end; do
  redis-cli -p "$port" flushall >/dev/null
  rm -f "$dir"/callgrind.out.*
  callgrind_control --zero $server >/dev/null 2>&1
  reply=$(redis-cli -p "$port" evalsha "$sha" 0 qi 100000 "$tasks" "$phase")
  [[ $reply == "$tasks" ]] || { echo "phase $phase failed: $reply" >&2; exit 1; }
  callgrind_control --dump $server >/dev/null 2>&1
  counted[$phase]=$(grep -h -E '^(summary|totals):' "$dir"/callgrind.out.* | head -1 | awk '{print $2}')
done
per_task() { echo $(( (counted[$1] - counted[$2]) / tasks / 1000 )); }
enqueue=$(per_task enqueue enqueue-args) lease=$(per_task lease lease-args) end=$(per_task end end-args)
echo "thousand instructions per task: enqueue $enqueue, lease $lease, end $end, all $((enqueue + lease + end))"
