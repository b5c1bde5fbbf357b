#!/usr/bin/env bash
# A Docker engine for the sandbox tests and the image scripts: `start` reuses an engine that answers, else starts one of
# its own; `stop` stops only the engine this script started; `socket` prints the socket of the engine that answers.
#
#   scripts/docker-engine.sh start    prints the socket path (exit 1 when no engine could be had)
#   scripts/docker-engine.sh stop     waits until the engine it started has ended; nothing to do is not an error
#   scripts/docker-engine.sh socket   prints the socket of an answering engine (exit 1 when none answers)
#
# The engine asked for first: DOCKER_SOCKET, else DOCKER_HOST=unix://PATH, else /var/run/docker.sock. The engine of
# its own lives under MOSAIC_DOCKER_DIR (default /var/lib/mosaic-docker): docker.sock, data/, exec/, pid, dockerd.log.
# Keep that path short: containerd's socket under exec/ must fit a Unix socket path (108 bytes).
set -euo pipefail

dir=${MOSAIC_DOCKER_DIR:-/var/lib/mosaic-docker}
own_socket=$dir/docker.sock
pidfile=$dir/pid

if [[ -n ${DOCKER_SOCKET:-} ]]; then
  wanted=$DOCKER_SOCKET
elif [[ ${DOCKER_HOST:-} == unix://* ]]; then
  wanted=${DOCKER_HOST#unix://}
else
  wanted=/var/run/docker.sock
fi

answers() { [[ -S $1 ]] && curl -sf --max-time 5 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }

our_pid() {
  local pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  if answers "$wanted"; then echo "$wanted"; return 0; fi
  if answers "$own_socket"; then echo "$own_socket"; return 0; fi

  if ! command -v dockerd >/dev/null; then
    echo "docker-engine: installing docker.io" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq docker.io >/dev/null
  fi
  mkdir -p "$dir"
  if ! our_pid >/dev/null; then
    rm -f "$pidfile" "$own_socket"
    # These flags are the ones that work on a machine with no bridge and no iptables (a container, CI): no networks
    # but `none` and `host`, which is all the sandbox uses (`--network none`). setsid: the engine outlives this script.
    setsid dockerd -H "unix://$own_socket" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" \
      --iptables=false --bridge=none --ip-forward=false --ip-masq=false >>"$dir/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do
    if answers "$own_socket"; then echo "$own_socket"; return 0; fi
    sleep 0.5
  done
  echo "docker-engine: the engine did not answer at $own_socket within 60 s; the end of $dir/dockerd.log:" >&2
  tail -n 20 "$dir/dockerd.log" >&2 || true
  return 1
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid"
  # dockerd stops its containers (10 s each at most, in parallel) and its containerd before it ends.
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "docker-engine: dockerd ($pid) did not end within 60 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  # dockerd leaves its network namespace mounted under exec/; nothing else holds it once the engine has ended.
  if grep -q " $dir/exec/netns/default " /proc/mounts 2>/dev/null; then umount "$dir/exec/netns/default" 2>/dev/null || true; fi
}

socket() {
  if answers "$wanted"; then echo "$wanted"; return 0; fi
  if answers "$own_socket"; then echo "$own_socket"; return 0; fi
  echo "docker-engine: no engine answers at $wanted or $own_socket" >&2
  return 1
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  socket) socket ;;
  *) echo "usage: $0 start|stop|socket" >&2; exit 2 ;;
esac
