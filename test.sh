#!/usr/bin/env bash
# The test command: installs what the tests need, runs the whole suite with coverage, prints
# "N passed, N failed, N skipped" and the line coverage, and fails below the coverage floor.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
COVERAGE_FLOOR=${COVERAGE_FLOOR:-85}
out=.ci-out
rm -rf "$out"

bash scripts/setup.sh

# The sandbox's and the deployment's tests need a Docker engine and the sandbox image: an engine that answers is used
# (DOCKER_SOCKET, DOCKER_HOST, /var/run/docker.sock), else one is started for this run and stopped when it ends. The
# tests read DOCKER_SOCKET; without an engine they skip, and the run goes on.
engine_started=0
if ! DOCKER_SOCKET=$(bash scripts/docker-engine.sh socket 2>/dev/null); then
  if DOCKER_SOCKET=$(bash scripts/docker-engine.sh start); then
    engine_started=1
  else
    # CI must prove the sandbox: there, no engine is a failure, not a reason to skip.
    if [ -n "${CI:-}" ]; then echo "test.sh: no Docker engine could be started (CI)" >&2; exit 1; fi
    echo "test.sh: no Docker engine; the tests that need one skip" >&2
    DOCKER_SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
  fi
fi
export DOCKER_SOCKET
stop_engine() { if [ "$engine_started" = 1 ]; then bash scripts/docker-engine.sh stop || true; fi; }
trap stop_engine EXIT
if [ "$engine_started" = 1 ] || curl -sf --max-time 5 --unix-socket "$DOCKER_SOCKET" http://localhost/_ping >/dev/null 2>&1; then
  # docker-compose (v1, Debian's) lets the deployment test bring compose.yaml up.
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || {
    echo "setup: installing docker-compose"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null || true
  }
  DOCKER_HOST=unix://$DOCKER_SOCKET bash scripts/sandbox-image.sh >/dev/null
fi

# Every test folder of this run lives under one root, removed when the run is green and kept (and named) when not.
MOSAIC_TEST_TEMP=$(mktemp -d "${TMPDIR:-/tmp}/mosaic-tests.XXXXXX")
export MOSAIC_TEST_TEMP

status=0
dotnet test Mosaic.Orchestrator.slnx \
  --settings coverage.runsettings \
  --collect:"XPlat Code Coverage" \
  --results-directory "$out" \
  --logger "trx;LogFileName=results.trx" \
  --logger "console;verbosity=normal" "$@" | tee "$out.log" || status=$?

if [ "$status" -eq 0 ]; then
  rm -rf "$MOSAIC_TEST_TEMP"
else
  # The kept folder also holds the run's console log and results, so a failure seen only in a CI tail can be read in
  # full on the machine that ran it.
  cp "$out.log" "$MOSAIC_TEST_TEMP/console.log" 2>/dev/null || true
  find "$out" -name '*.trx' -exec cp {} "$MOSAIC_TEST_TEMP/" \; 2>/dev/null || true
  echo "the tests' folders are kept in $MOSAIC_TEST_TEMP" >&2
fi

python3 - "$out" "$COVERAGE_FLOOR" "$status" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
out, floor, status = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for trx in glob.glob(f"{out}/**/*.trx", recursive=True):
    counters = ET.parse(trx).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(counters.get("passed", 0))
    failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
    skipped += int(counters.get("notExecuted", 0))
covered = valid = 0
for report in glob.glob(f"{out}/**/coverage.cobertura.xml", recursive=True):
    root = ET.parse(report).getroot()
    covered += int(root.get("lines-covered", 0))
    valid += int(root.get("lines-valid", 0))
rate = 100.0 * covered / valid if valid else 0.0
# A failed test is named again here, at the end, with the start of its message: a CI log is often read by its tail.
for trx in glob.glob(f"{out}/**/*.trx", recursive=True):
    for result in ET.parse(trx).getroot().iter(f"{{{ns['t']}}}UnitTestResult"):
        if result.get("outcome") in ("Failed", "Error", "Timeout", "Aborted"):
            message = result.find("t:Output/t:ErrorInfo/t:Message", ns)
            text = (message.text or "") if message is not None else ""
            print(f"FAILED {result.get('testName')} [{result.get('duration')}]")
            for line in text.strip().splitlines()[:12]:
                print(f"    {line[:300]}")
print(f"line coverage: {rate:.1f}% ({covered}/{valid} lines; floor {floor:.0f}%)")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
if status != 0 or failed or passed == 0:
    sys.exit(1)
if rate < floor:
    print(f"coverage {rate:.1f}% is below the floor of {floor:.0f}%", file=sys.stderr)
    sys.exit(1)
PY

