#!/usr/bin/env bash
# Installs what the service and its tests need on a fresh Debian machine; idempotent, quiet when all is there.
set -euo pipefail

need=()
command -v git >/dev/null || need+=(git)
command -v setsid >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
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
