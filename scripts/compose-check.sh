#!/usr/bin/env bash
# Builds the service's image (Dockerfile) and brings compose.yaml up with Valkey, then checks the deployment end to end:
# /health answers, an agent of the `command` runtime (scripts/demo-agent.sh) on a local bare repository
# (scripts/demo-repository.sh, mounted into the service's container) completes with its gate passed and its branch
# pushed. Brings compose down (volumes too) however it ends. Exit 0 when all held.
#
# Where no registry is reachable it builds stand-ins for the base images first (scripts/local-images.sh). Both
# containers use the host's network on free loopback ports (an override file of its own): engines started with
# --bridge=none have no bridge to give a compose network, and nothing of the check leaves loopback.
# Needs: a Docker engine (DOCKER_HOST, else DOCKER_SOCKET, else docker's default), docker-compose (v1) or
# `docker compose`, the .NET SDK, debootstrap (for the base image when it is missing).
# Settings: COMPOSE_CHECK_TIMEOUT (seconds for the agent, default 120), COMPOSE_CHECK_KEEP=1 keeps the stack up.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ -z ${DOCKER_HOST:-} && -n ${DOCKER_SOCKET:-} ]]; then export DOCKER_HOST=unix://$DOCKER_SOCKET; fi
say() { echo "compose-check: $*" >&2; }

if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  say "needs docker-compose or the docker compose plugin"
  exit 2
fi

started=$SECONDS
bash scripts/sandbox-image.sh >/dev/null
mapfile -t images < <(bash scripts/local-images.sh)
export SDK_IMAGE=${images[0]} RUNTIME_IMAGE=${images[1]} VALKEY_IMAGE=${images[2]} AGENT_IMAGE=mosaic-agent:latest
export ORCHESTRATOR_IMAGE=mosaic-orchestrator:local
say "base images ready ($((SECONDS - started)) s); building $ORCHESTRATOR_IMAGE"
work=$(mktemp -d "${TMPDIR:-/tmp}/mosaic-compose-check.XXXXXX")
build_started=$SECONDS
# --network host: the SDK stage restores from NuGet; the legacy builder of an engine with no bridge has no other way.
docker build --network host --build-arg SDK_IMAGE --build-arg RUNTIME_IMAGE --build-arg AGENT_IMAGE \
  -t "$ORCHESTRATOR_IMAGE" . >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
# The SDK stage tagged too (at once, from the cache): it stays the next build's cache, and the images of older builds
# of this Dockerfile, untagged now, are removed.
docker build --network host --build-arg SDK_IMAGE --build-arg RUNTIME_IMAGE --build-arg AGENT_IMAGE --target build \
  -t mosaic-orchestrator-build:local . >>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
docker image prune -f --filter label=io.mosaic.dockerfile=service >/dev/null
say "built $ORCHESTRATOR_IMAGE in $((SECONDS - build_started)) s"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export ORCHESTRATOR_PORT ORCHESTRATOR_HOST=127.0.0.1 VALKEY_PORT VALKEY_HOST=127.0.0.1 VALKEY_BIND=127.0.0.1
ORCHESTRATOR_PORT=$(free_port)
VALKEY_PORT=$(free_port)
export ORCHESTRATOR_API_KEY VALKEY_PASSWORD
ORCHESTRATOR_API_KEY=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
VALKEY_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
export AGENT_RUNTIME=command AGENT_COMMAND=/check/agent.sh ALLOW_LOCAL_REPOSITORIES=true

# The repository and the agent, in a folder mounted at /check; the service runs as uid 1654 and pushes into it.
mkdir -p "$work/check"
bash scripts/demo-repository.sh "$work/check/remote.git"
cp scripts/demo-agent.sh "$work/check/agent.sh"
chmod 755 "$work/check/agent.sh"
chown -R 1654:1654 "$work/check" 2>/dev/null || chmod -R a+rwX "$work/check"
# compose.yaml as it is, less the port it publishes (a host-network container cannot publish one), plus the override.
awk '/^    ports:/ { skip = 1; next } skip && /^      / { next } { skip = 0; print }' compose.yaml >"$work/compose.yaml"
cat >"$work/compose.check.yaml" <<YAML
services:
  orchestrator:
    network_mode: host
    volumes:
      - $work/check:/check
  valkey:
    network_mode: host
YAML

project=${COMPOSE_CHECK_PROJECT:-mosaic-check-$$}
dc() { "${compose[@]}" -p "$project" --project-directory "$root" -f "$work/compose.yaml" -f "$work/compose.check.yaml" "$@"; }
finish() {
  local status=$?
  if ((status != 0)); then
    say "failed; the containers' last lines:"
    dc logs --no-color --tail 40 >&2 2>&1 || true
  fi
  if [[ ${COMPOSE_CHECK_KEEP:-0} == 1 ]]; then
    say "kept: project $project on http://127.0.0.1:$ORCHESTRATOR_PORT (key $ORCHESTRATOR_API_KEY)"
  else
    dc down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit "$status"
}
trap finish EXIT

up_started=$SECONDS
dc up -d --no-build >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
base=http://127.0.0.1:$ORCHESTRATOR_PORT
for _ in $(seq 1 120); do
  curl -sf "$base/health" >"$work/health.json" 2>/dev/null && break
  sleep 0.5
done
curl -sf "$base/health" >"$work/health.json" || { say "/health did not answer within 60 s"; exit 1; }
say "up in $((SECONDS - up_started)) s: /health $(cat "$work/health.json")"
curl -sf "$base/health/ready" >/dev/null || { say "/health/ready: $(curl -s "$base/health/ready")"; exit 1; }

key=(-H "X-API-Key: $ORCHESTRATOR_API_KEY")
body=$(python3 -c 'import json, sys; print(json.dumps({"taskId": "compose-check", "agentType": "worker",
  "context": {"repository": "/check/remote.git", "branch": "main", "workItems": [sys.argv[1]]}}))' \
  "$(bash scripts/demo-repository.sh --work-item)")
answer=$(curl -s "${key[@]}" -H 'Content-Type: application/json' -X POST "$base/agents/spawn" -d "$body")
agent=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["agentId"])' <<<"$answer" 2>/dev/null) ||
  { say "spawn answered: $answer"; exit 1; }
agent_started=$SECONDS
timeout=${COMPOSE_CHECK_TIMEOUT:-120}
status=
while ((SECONDS - agent_started < timeout)); do
  status=$(curl -sf "${key[@]}" "$base/agents/$agent/status" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])') || status=
  case $status in completed | failed | killed) break ;; esac
  sleep 1
done
record=$(curl -s "${key[@]}" "$base/agents/$agent/status")
if [[ $status != completed ]]; then
  say "agent $agent ended as '${status:-unknown}' (after $((SECONDS - agent_started)) s): $record"
  exit 1
fi
branch=$(python3 -c 'import json, sys; print(json.load(sys.stdin).get("branch") or "")' <<<"$record")
# The repository belongs to the service's uid now: git asks that its owner be trusted.
if [[ -z $branch ]] || ! git -c safe.directory='*' -C "$work/check/remote.git" cat-file -e "$branch:RESULT.md" 2>/dev/null; then
  say "agent $agent completed but its branch '$branch' with RESULT.md is not in the remote: $record"
  exit 1
fi
say "agent $agent completed in $((SECONDS - agent_started)) s and pushed $branch; all in $((SECONDS - started)) s"
