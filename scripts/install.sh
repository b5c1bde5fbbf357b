#!/usr/bin/env bash
# Puts `mosaic-orchestrator` on PATH: publishes the service (Release, framework-dependent: it runs on the installed
# .NET 10 runtime) into PREFIX/lib/mosaic-orchestrator and writes the launcher PREFIX/bin/mosaic-orchestrator.
# PREFIX defaults to /usr/local for root (its bin is on every PATH) and to ~/.local for anyone else.
# Run it again to update; remove both paths to uninstall. MOSAIC_INSTALL_FROM=DIR installs an existing build folder
# (one with mosaic-orchestrator.dll) instead of publishing.
set -euo pipefail

case "${1:-}" in
  -h | --help)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    echo "usage: scripts/install.sh [PREFIX]"
    exit 0
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${1:-}" ]]; then
  prefix="$1"
elif [[ "$(id -u)" == 0 ]]; then
  prefix=/usr/local
else
  prefix="$HOME/.local"
fi
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
bindir="$prefix/bin"
libdir="$prefix/lib/mosaic-orchestrator"

# The launcher names the dotnet found now: a git hook may run with a shorter PATH (GUI clients, cron) than this shell.
dotnet="$(command -v dotnet || true)"
[[ -n "$dotnet" ]] || { echo "install: the .NET 10 SDK or runtime is required (dotnet not on PATH)" >&2; exit 1; }

# Into a fresh folder beside the old one, then swapped: no file of an older version is left among the new ones.
staging="$libdir.new"
rm -rf "$staging"
mkdir -p "$(dirname "$libdir")"
if [[ -n "${MOSAIC_INSTALL_FROM:-}" ]]; then
  [[ -f "$MOSAIC_INSTALL_FROM/mosaic-orchestrator.dll" ]] || { echo "install: no mosaic-orchestrator.dll in $MOSAIC_INSTALL_FROM" >&2; exit 1; }
  cp -R "$MOSAIC_INSTALL_FROM" "$staging"
else
  echo "install: publishing the service (Release)..."
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 "$dotnet" publish "$root/src/Mosaic.Orchestrator" -c Release -v quiet -nologo \
    --no-self-contained -o "$staging" >/dev/null
fi
# The installed copy finds the Claude Code CLI that scripts/setup.sh put into this checkout (CLAUDE_PATH unset).
if [[ -x "$root/.tools/claude/node_modules/.bin/claude" && ! -e "$staging/.tools" ]]; then
  ln -s "$root/.tools" "$staging/.tools"
fi
rm -rf "$libdir"
mv "$staging" "$libdir"

quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
mkdir -p "$bindir"
launcher="$bindir/mosaic-orchestrator"
cat > "$launcher.new" <<SH
#!/bin/sh
# mosaic-orchestrator, installed by scripts/install.sh from $root.
# Runs the build in $libdir on the .NET runtime at $dotnet.
exec $(quote "$dotnet") $(quote "$libdir/mosaic-orchestrator.dll") "\$@"
SH
chmod 755 "$launcher.new"
mv "$launcher.new" "$launcher"

echo "install: the service is in $libdir"
echo "install: the launcher is $launcher"
case ":$PATH:" in
  *":$bindir:"*)
    found="$(command -v mosaic-orchestrator || true)"
    if [[ "$found" != "$launcher" ]]; then
      echo "install: note: $bindir is on PATH, but 'mosaic-orchestrator' runs $found (it comes first)"
    fi
    ;;
  *)
    echo "install: $bindir is not on PATH; add it, e.g. in ~/.profile:"
    echo "  export PATH=\"$bindir:\$PATH\""
    ;;
esac
