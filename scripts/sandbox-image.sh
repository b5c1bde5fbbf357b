#!/usr/bin/env bash
# Builds the sandbox image mosaic-agent:<service version>-claude<claude version> and tags it mosaic-agent:latest,
# offline from Debian's packages: debootstrap (minbase, bookworm) into a folder, `docker import` as the base image
# mosaic-debian:bookworm (kept, and reused when it exists), then sandbox/Dockerfile on top with the pinned Claude Code
# CLI's native binary (installed into .tools/claude by scripts/setup.sh) and the proxy bridge's entrypoint.
# Idempotent: when the image of this version and recipe exists it only makes sure `latest` points at it.
#
# The engine: DOCKER_HOST, else DOCKER_SOCKET (as unix://), else docker's default. Settings: MOSAIC_BASE_IMAGE,
# DEBIAN_MIRROR (default http://deb.debian.org/debian), SANDBOX_IMAGE_FORCE=1 rebuilds the image (not the base).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ -z ${DOCKER_HOST:-} && -n ${DOCKER_SOCKET:-} ]]; then export DOCKER_HOST=unix://$DOCKER_SOCKET; fi

base=${MOSAIC_BASE_IMAGE:-mosaic-debian:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What an agent, a gate and the proxy bridge need; the service's image (Dockerfile) builds on the same base.
packages=bash,coreutils,git,curl,ca-certificates,python3,socat,procps

service_version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' src/Mosaic.Orchestrator/Mosaic.Orchestrator.csproj | head -n1)
claude_version=$(sed -n 's/^CLAUDE_CODE_VERSION=//p' scripts/setup.sh | head -n1)
[[ -n $service_version && -n $claude_version ]] || { echo "sandbox-image: cannot read the versions" >&2; exit 1; }
image=mosaic-agent:$service_version-claude$claude_version
# The recipe: the files in sandbox/ and the base image's id. A changed Dockerfile, entrypoint or base rebuilds the image
# even when the versions stay.
recipe() {
  { cat sandbox/Dockerfile sandbox/mosaic-entrypoint sandbox/gitconfig; docker image inspect -f '{{.Id}}' "$base" 2>/dev/null; } |
    sha256sum | cut -c1-16
}

if [[ ${SANDBOX_IMAGE_FORCE:-0} != 1 ]] &&
  [[ $(docker image inspect -f '{{index .Config.Labels "io.mosaic.recipe"}}' "$image" 2>/dev/null) == "$(recipe)" ]]; then
  docker tag "$image" mosaic-agent:latest
  echo "$image"
  exit 0
fi

claude="$root/.tools/claude/node_modules/.bin/claude"
[[ -x $claude ]] || bash scripts/setup.sh >&2
# .bin/claude is npm's link to the native binary of the platform's sub-package; the image wants the file itself.
claude=$(readlink -f "$claude")
file_version=$("$claude" --version 2>/dev/null || true)
[[ $file_version == "$claude_version "* ]] || { echo "sandbox-image: $claude is '$file_version', not $claude_version" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mosaic-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || {
    echo "sandbox-image: installing debootstrap" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  echo "sandbox-image: debootstrap bookworm ($packages) for $base" >&2
  debootstrap --variant=minbase --include="$packages" bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
  }
  # Trimmed as Debian's slim images are (60 MB less): no manuals, info pages, translations or docs but the copyright
  # files, and dpkg keeps it so for packages installed later (FROM this base).
  (
    cd "$work/rootfs"
    rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* var/log/* usr/share/man/* usr/share/info/*
    find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
    find usr/share/doc -mindepth 1 -type d -empty -delete
    printf '%s\n' 'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
      'path-include /usr/share/locale/locale.alias' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
      >etc/dpkg/dpkg.cfg.d/mosaic-slim
  )
  tar -C "$work/rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
    --message "debootstrap --variant=minbase --include=$packages bookworm" - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

echo "sandbox-image: building $image" >&2
mkdir "$work/context"
cp sandbox/Dockerfile sandbox/mosaic-entrypoint sandbox/gitconfig "$work/context/"
ln "$claude" "$work/context/claude" 2>/dev/null || cp "$claude" "$work/context/claude"
chmod 0644 "$work/context/gitconfig" && chmod 0755 "$work/context/mosaic-entrypoint" "$work/context/claude"
# --network none: nothing in the build reaches out; the engine may have no bridge at all.
docker build --network none -t "$image" -t mosaic-agent:latest \
  --build-arg BASE_IMAGE="$base" \
  --build-arg MOSAIC_VERSION="$service_version" \
  --build-arg CLAUDE_CODE_VERSION="$claude_version" \
  --label io.mosaic.recipe="$(recipe)" \
  "$work/context" >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }
echo "$image"
