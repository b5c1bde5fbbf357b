#!/usr/bin/env bash
# The demo's repository and the work asked of it, kept together because the gate must check exactly that work.
#   scripts/demo-repository.sh PATH         creates a bare repository at PATH (a stand-in for GitHub) with a branch main
#   scripts/demo-repository.sh --work-item  prints the work item that run.sh spawns the demo agent with
# The built-in worker prompt lists the work items, so the work is stated plainly: a model can do it as asked, and the
# scripted agent (scripts/demo-agent.sh) does the same. The repository's .mosaic/gates.yml declares a `tests` gate that
# passes when RESULT.md is at the top of the repository and holds a paragraph (15 words or more).
set -euo pipefail

work_item="US-001: add a file RESULT.md at the top of the repository that summarises the repository in one paragraph"
if [[ "${1:-}" == --work-item ]]; then
  echo "$work_item"
  exit 0
fi
[[ $# == 1 && "$1" != -* ]] || { sed -n "3,4p" "$0" | sed "s/^#  */usage: /" >&2; exit 2; }
remote="$1"
[[ ! -e "$remote" ]] || { echo "demo-repository: $remote already exists" >&2; exit 1; }

seed=$(mktemp -d)
trap 'rm -rf "$seed"' EXIT
git init -q --initial-branch=main "$seed"
cat >"$seed/README.md" <<'MD'
# Demo project

A small project that the Mosaic Orchestrator demo (`run.sh`) creates for its agent to work on: `greet.sh` prints a
greeting, and `.mosaic/gates.yml` declares the quality gate that the agent's work must pass before it is pushed.
MD
printf '#!/bin/sh\n# Prints a greeting for the name given (default: world).\necho "Hello, ${1:-world}!"\n' >"$seed/greet.sh"
chmod 755 "$seed/greet.sh"
mkdir -p "$seed/.mosaic"
cat >"$seed/.mosaic/gates.yml" <<'YAML'
gates:
  # US-001: a file RESULT.md at the top of the repository that summarises the repository in one paragraph.
  tests:
    timeout: 60
    command: >-
      test -s RESULT.md || { echo "US-001: there is no RESULT.md at the top of the repository"; exit 1; };
      awk 'BEGIN { RS = "" } NF >= 15 { found = 1 } END { exit !found }' RESULT.md
      || { echo "US-001: RESULT.md has no paragraph (15 words or more) that summarises the repository"; exit 1; };
      echo "US-001: RESULT.md holds a paragraph that summarises the repository"
YAML
git -C "$seed" add --all
git -C "$seed" -c user.name=Demo -c user.email=demo@example.test commit -qm "initial"
mkdir -p "$(dirname "$remote")"
git clone -q --bare "$seed" "$remote"
