#!/usr/bin/env bash
# Our Valkey queue next to BullMQ, same work, same redis-server (started here on a free loopback port, stopped at
# the end): enqueue N no-op jobs, then lease + complete them at concurrency 1 and 8. Prints both and the ratios, and
# the CPU each side spent per job (client process, redis-server). Ours warms up in rounds of as many jobs as it
# measures (BENCH_WARMUP_JOBS to change that) until .NET's JIT has settled, and BullMQ then warms up on as many jobs.
# BullMQ runs twice per round: with the same jobs as ours (an agent record, queued with a priority) and with its plain
# cheapest job (bullmq/bench.mjs says more). Usage: bench/queue-bench.sh [jobs=20000] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-20000}
rounds=${2:-3}
command -v redis-server >/dev/null || { echo "redis-server is required (scripts/setup.sh installs it)" >&2; exit 1; }
[[ -d bench/bullmq/node_modules/bullmq ]] || npm install --prefix bench/bullmq --no-audit --no-fund --loglevel=error >/dev/null
dotnet build -c Release bench/Mosaic.Orchestrator.Bench -v quiet -nologo >/dev/null

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --logfile "$dir/redis.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
echo "# queue benchmark $(date -u +%F), $(nproc) cores, redis $(redis-server --version | grep -o 'v=[0-9.]*'), $jobs jobs, rounds alternate"

bench="bench/Mosaic.Orchestrator.Bench/bin/Release/net10.0/Mosaic.Orchestrator.Bench"
out=$(mktemp)
for ((round = 1; round <= rounds; round++)); do
  "$bench" queue "$port" "$jobs" 1,8 | tee -a "$out" | tee "$dir/ours"
  # BullMQ warms up on as many jobs as ours needed for .NET's JIT to settle.
  warmup=$(sed -n 's/^ours warmup_jobs=//p' "$dir/ours")
  BENCH_WARMUP_JOBS=$warmup node bench/bullmq/bench.mjs "$port" "$jobs" 1,8 same | tee -a "$out"
  BENCH_WARMUP_JOBS=$warmup node bench/bullmq/bench.mjs "$port" "$jobs" 1,8 plain | tee -a "$out"
  redis-cli -p "$port" flushall >/dev/null
done

python3 - "$out" <<'PY'
import re, sys, statistics
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"([\w-]+) concurrency=(\d+) jobs=\d+ add=(\d+)/s process=(\d+)/s total=(\d+)/s cpu_us_per_job client=(\d+) server=(\d+)", line)
    if m:
        rows.setdefault((m[1], int(m[2])), []).append(tuple(map(int, m.group(3, 4, 5, 6, 7))))
for peer, title in (("bullmq", "BullMQ, the same jobs (record, priority)"), ("bullmq-plain", "BullMQ, plain jobs ({i}, no priority)")):
    print(f"\n{title}:\n")
    print("| concurrency | phase | ours (jobs/s, median) | BullMQ (jobs/s, median) | ratio (each round) |")
    print("|---|---|---|---|---|")
    for c in sorted({c for _, c in rows}):
        for i, phase in enumerate(["add", "lease + complete", "end to end"]):
            ours = statistics.median(r[i] for r in rows[("ours", c)])
            bull = statistics.median(r[i] for r in rows[(peer, c)])
            rounds = ", ".join(f"{o[i] / b[i]:.2f}" for o, b in zip(rows[("ours", c)], rows[(peer, c)]))
            print(f"| {c} | {phase} | {ours:.0f} | {bull:.0f} | {ours / bull:.2f}x ({rounds}) |")
print("\n| concurrency | CPU per job (us, median) | ours | BullMQ, same jobs | BullMQ, plain jobs |")
print("|---|---|---|---|---|")
for c in sorted({c for _, c in rows}):
    for i, side in ((3, "client process"), (4, "redis-server")):
        cells = " | ".join(f"{statistics.median(r[i] for r in rows[(who, c)]):.0f}" for who in ("ours", "bullmq", "bullmq-plain"))
        print(f"| {c} | {side} | {cells} |")
PY
rm -f "$out"
