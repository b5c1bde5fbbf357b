#!/usr/bin/env bash
# Installs what the service and its tests need on a fresh Debian machine; idempotent, quiet when all is there.
set -euo pipefail

need=()
command -v git >/dev/null || need+=(git)
command -v setsid >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v npm >/dev/null || need+=(npm)
# The Valkey backend's tests start their own redis-server processes on free loopback ports (none is left running).
command -v redis-server >/dev/null || need+=(redis-server)
# The dashboard's browser tests drive Debian's Chromium with Playwright (no browser download); without it they skip.
[ -x /usr/bin/chromium ] || need+=(chromium)
# The sandbox image bridges its proxy socket with socat; the egress proxy's tests drive curl through it on the host too.
command -v socat >/dev/null || need+=(socat)
if ((${#need[@]})); then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }

# Agents commit under an identity of their own; git refuses to commit without one.
git config --global user.name >/dev/null || git config --global user.name "Mosaic Orchestrator"
git config --global user.email >/dev/null || git config --global user.email "orchestrator@mosaic.local"

# The real Claude Code CLI (a native binary from npm), pinned: the claude-code runtime and its tests drive it.
CLAUDE_CODE_VERSION=2.1.332
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
claude="$root/.tools/claude/node_modules/.bin/claude"
if ! [[ -x "$claude" ]] || [[ "$("$claude" --version 2>/dev/null)" != "$CLAUDE_CODE_VERSION "* ]]; then
  echo "setup: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into .tools/claude"
  mkdir -p "$root/.tools/claude"
  npm install --prefix "$root/.tools/claude" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null
  "$claude" --version >/dev/null
fi
