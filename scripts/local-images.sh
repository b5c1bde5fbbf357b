#!/usr/bin/env bash
# Makes the stand-ins for the registry images that the service's Dockerfile and compose.yaml use, where no registry is
# reachable: mosaic-dotnet-sdk:<sdk version> and mosaic-dotnet-aspnet:<runtime version> (the Debian base with a copy of
# the host's .NET and the host's extra CAs, deploy/local/dotnet.Dockerfile) and mosaic-valkey:local (Debian's
# redis-server as valkey-server, deploy/local/valkey.Dockerfile; its build runs apt with --network host).
# Prints the three image names, one a line (sdk, runtime, valkey). Idempotent: an image that exists is kept.
# The engine: DOCKER_HOST, else DOCKER_SOCKET (as unix://), else docker's default.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ -z ${DOCKER_HOST:-} && -n ${DOCKER_SOCKET:-} ]]; then export DOCKER_HOST=unix://$DOCKER_SOCKET; fi

base=${MOSAIC_BASE_IMAGE:-mosaic-debian:bookworm}
docker image inspect "$base" >/dev/null 2>&1 || bash scripts/sandbox-image.sh >/dev/null

dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
sdk_version=$(dotnet --version)
runtime_version=$(find "$dotnet_root/shared/Microsoft.AspNetCore.App" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
sdk=mosaic-dotnet-sdk:$sdk_version
runtime=mosaic-dotnet-aspnet:$runtime_version
valkey=mosaic-valkey:local

work=$(mktemp -d "${TMPDIR:-/tmp}/mosaic-local-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A context of hard links (copies across file systems): the daemon is sent only what the image holds.
context() {
  local dir=$work/$1
  shift
  mkdir -p "$dir/dotnet" "$dir/ca"
  for part in "$@"; do
    cp -al "$dotnet_root/$part" "$dir/dotnet/" 2>/dev/null || cp -a "$dotnet_root/$part" "$dir/dotnet/"
  done
  cp /usr/local/share/ca-certificates/*.crt "$dir/ca/" 2>/dev/null || true
  echo "$dir"
}

build() {
  local image=$1 dir=$2
  shift 2
  echo "local-images: building $image" >&2
  docker build "$@" -t "$image" "$dir" >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }
}

if ! docker image inspect "$sdk" >/dev/null 2>&1; then
  dir=$(context sdk .)
  cp deploy/local/dotnet.Dockerfile "$dir/Dockerfile"
  build "$sdk" "$dir" --network none --build-arg BASE_IMAGE="$base" --build-arg DOTNET_VERSION="$sdk_version"
fi
if ! docker image inspect "$runtime" >/dev/null 2>&1; then
  dir=$(context runtime dotnet host)
  for part in shared/Microsoft.NETCore.App shared/Microsoft.AspNetCore.App; do
    mkdir -p "$dir/dotnet/$part"
    cp -al "$dotnet_root/$part/$runtime_version" "$dir/dotnet/$part/" 2>/dev/null || cp -a "$dotnet_root/$part/$runtime_version" "$dir/dotnet/$part/"
  done
  cp deploy/local/dotnet.Dockerfile "$dir/Dockerfile"
  build "$runtime" "$dir" --network none --build-arg BASE_IMAGE="$base" --build-arg DOTNET_VERSION="$runtime_version"
fi
if ! docker image inspect "$valkey" >/dev/null 2>&1; then
  mkdir "$work/valkey"
  cp deploy/local/valkey.Dockerfile "$work/valkey/Dockerfile"
  build "$valkey" "$work/valkey" --network host --build-arg BASE_IMAGE="$base"
fi
printf '%s\n' "$sdk" "$runtime" "$valkey"
