#!/usr/bin/env python3
"""Follows one agent of a running orchestrator to its end and prints a short summary of what it did.

usage: scripts/follow-agent.py AGENT_ID [--base URL] [--timeout SECONDS] [--service-pid PID] [--data-dir DIR] [--show FILE]

Reads the agent's lifecycle events (GET /agents/events?agentId=...&since=0, Server-Sent Events) and prints one line
per step (running, retrying, each gate's verdict, progress of a Claude Code agent at most every 30 s), then the record
(GET /agents/{id}/status) as a few lines: status, reason and error, branch and pushed commit, gates, cost, duration,
where the full record and the logs are, and the pushed branch's git log (and --show's file on it) when the repository
is a local one.
Exit status: 0 completed, 1 failed or killed (or the service stopped), 2 still running at the timeout.
ORCHESTRATOR_API_KEY, when set, is sent as X-API-Key; the base URL defaults to http://127.0.0.1:$ORCHESTRATOR_PORT.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime

TERMINAL = {"agent.completed", "agent.failed", "agent.killed"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent")
    parser.add_argument("--base", default=f"http://127.0.0.1:{os.environ.get('ORCHESTRATOR_PORT', '3001')}")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the end (default 900)")
    parser.add_argument("--service-pid", type=int, help="stop waiting when this process is gone")
    parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "./data"))
    parser.add_argument("--show", metavar="FILE", help="print this file of the pushed branch (local repositories)")
    args = parser.parse_args()
    api = Api(args.base.rstrip("/"), os.environ.get("ORCHESTRATOR_API_KEY"))
    started = time.monotonic()
    try:
        outcome = follow(api, args, started)
    except KeyboardInterrupt:
        print("\n   stopped following; the agent goes on in the service")
        return 130
    if outcome == "gone":
        print(f"   the service stopped before the agent ended (see its log)")
        return 1
    record = api.get(f"/agents/{args.agent}/status")
    if outcome == "timeout":
        print(f"   still {record.get('status')} after {clock(time.monotonic() - started)}; it goes on in the service")
    summarise(api, record, args)
    return {"completed": 0, "failed": 1, "killed": 1}.get(record.get("status"), 2)


class Api:
    def __init__(self, base, key):
        self.base = base
        self.headers = {"X-API-Key": key} if key else {}

    def get(self, path):
        request = urllib.request.Request(self.base + path, headers=self.headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def events(self, path, timeout):
        request = urllib.request.Request(self.base + path, headers={**self.headers, "Accept": "text/event-stream"})
        return urllib.request.urlopen(request, timeout=timeout)


def follow(api, args, started):
    """Prints the agent's events until a terminal one; returns 'end', 'timeout' or 'gone'."""
    last_id = 0
    last_line = time.monotonic()
    last_progress = -1e9
    deadline = started + args.timeout
    while True:
        try:
            # The service sends a comment every 15 s on an idle stream: 20 s without a line means it is gone or stuck.
            with api.events(f"/agents/events?agentId={args.agent}&since={last_id}", timeout=20) as stream:
                event = {}
                for raw in stream:
                    now = time.monotonic()
                    if now > deadline:
                        return "timeout"
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if line.startswith("id:"):
                        event["id"] = int(line[3:].strip())
                    elif line.startswith("event:"):
                        event["type"] = line[6:].strip()
                    elif line.startswith("data:"):
                        event["data"] = json.loads(line[5:].strip())
                    elif line == "" and event:
                        last_id = max(last_id, event.get("id", last_id))
                        kind = event.get("type") or event.get("data", {}).get("type", "")
                        data = (event.get("data") or {}).get("data") or {}
                        text = describe(kind, data)
                        if kind == "agent.progress":
                            text = text if now - last_progress >= 30 else None
                            last_progress = now if text else last_progress
                        if text:
                            print(f"   {clock(now - started):>6}  {text}", flush=True)
                            last_line = now
                        if kind in TERMINAL:
                            return "end"
                        event = {}
                    if now - last_line >= 60:
                        print(f"   {clock(now - started):>6}  ... still working", flush=True)
                        last_line = now
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError):
            pass
        # The stream broke: the service stopped, or was busy; look again, then pick up after the last event seen.
        if args.service_pid and not alive(args.service_pid):
            return "gone"
        if time.monotonic() > deadline:
            return "timeout"
        try:
            if api.get(f"/agents/{args.agent}/status").get("status") in ("completed", "failed", "killed"):
                return "end"
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(1)


def describe(kind, data):
    """One line for an event, or None for events not worth a line."""
    if kind == "agent.spawned":
        return f"spawned ({data.get('agentType', '?')}, gate profile {data.get('gateProfile', '?')})".lower()
    if kind == "agent.running":
        attempt = data.get("attempt")
        return "running" + (f" (attempt {attempt})" if attempt else "")
    if kind == "agent.retrying":
        return f"will retry: {data.get('reason', '?')} {data.get('error') or ''}".rstrip() + (
            f" (at {data['nextAttemptAt']})" if data.get("nextAttemptAt") else "")
    if kind == "agent.gate":
        verdict = data.get("status") or ("passed" if data.get("passed") else "failed")
        if verdict == "not-configured":
            return f"gate {data.get('gate', '?')}: not configured"
        message = f": {first_line(data['message'])}" if data.get("message") else ""
        fix = f" (after fix run {data['round']})" if data.get("round") else ""
        return f"gate {data.get('gate', '?')} {verdict}{fix}{message}"
    if kind == "agent.progress":
        tool = f", last tool {data['lastTool']}" if data.get("lastTool") else ""
        return f"working: {data.get('messages', 0)} messages, {data.get('toolCalls', 0)} tool calls{tool}"
    if kind in TERMINAL:
        reason = f" ({data['reason']})" if data.get("reason") else ""
        return kind.split(".", 1)[1] + reason
    return None


def summarise(api, record, args):
    agent = record.get("agentId", args.agent)
    status = record.get("status", "?")
    took = duration(record.get("spawnedAt"), record.get("completedAt"))
    headline = status.upper() if status != "completed" else status
    print(f"== {headline}" + (f" in {took}" if took else "") + f": agent {agent}, task {record.get('taskId')}")
    if record.get("reason") and status != "completed":
        print(f"   reason   {record['reason']}")
    if record.get("error"):
        print(f"   error    {first_line(record['error'], 300)}")
    branch = record.get("branch")
    if branch:
        head = (record.get("headCommit") or "")[:12]
        where = f"pushed {head}" if record.get("pushed") else "not pushed" + (f" (head {head})" if head else "")
        print(f"   branch   {branch}, {where}")
    gates = record.get("gates") or []
    if gates:
        rounds = max(g.get("round", 0) for g in gates)
        last = [g for g in gates if g.get("round", 0) == rounds]
        groups = {}
        for g in last:
            groups.setdefault(g.get("status") or ("passed" if g.get("passed") else "failed"), []).append(g["gate"])
        verdicts = "; ".join(f"{', '.join(names)} {status.replace('-', ' ')}" for status, names in groups.items())
        print(f"   gates    {verdicts}" + (f" (after {rounds} fix run{'s' if rounds != 1 else ''})" if rounds else ""))
        for g in last:
            lines = [l for l in (g.get("outputTail") or "").strip().splitlines() if l.strip()]
            if g.get("passed") and lines:
                print(f"            {g['gate']}: {lines[-1][:160]}")
            elif not g.get("passed") and (lines or g.get("message")):
                print(f"            {g['gate']}: {first_line(g.get('message') or '')}")
                for line in lines[-5:]:
                    print(f"              | {line[:160]}")
    for finding in record.get("secretFindings") or []:
        print(f"   secret   {finding.get('file')}:{finding.get('line')}: {finding.get('ruleId')} {finding.get('preview')}")
    if record.get("conflicts"):
        print(f"   conflict {', '.join(record['conflicts'])}")
    run = record.get("run") or {}
    cost = record.get("totalCostUsd")
    if cost is not None or run.get("turns") is not None:
        parts = [f"${cost:.4f}"] if cost is not None else []
        if run.get("turns") is not None:
            parts.append(f"{run['turns']} turns, {run.get('toolCalls', 0)} tool calls")
        if run.get("model"):
            parts.append(run["model"])
        print(f"   cost     {', '.join(parts)}")
    attempt = record.get("attempt") or 1
    print(f"   record   curl -s {auth_hint()}{api.base}/agents/{agent}/status | python3 -m json.tool")
    print(f"   events   curl -sN {auth_hint()}'{api.base}/agents/events?since=0&agentId={agent}'")
    agent_dir = os.path.join(os.path.abspath(args.data_dir), "agents", agent)
    print(f"   log      {os.path.join(agent_dir, f'attempt-{attempt}.log')}")
    if gates:
        print(f"   gate log {os.path.join(agent_dir, f'gate-<gate>-attempt-{attempt}-round-<n>.log')}")
    repository = (record.get("context") or {}).get("repository", "")
    if branch and record.get("pushed") and os.path.isdir(repository):
        base = (record.get("context") or {}).get("branch", "main")
        print(f"== the pushed branch {branch} in {repository}")
        git(repository, "log", "--format=   %h %an: %s", branch)
        git(repository, "diff", "--stat=100", f"{base}...{branch}")
        if args.show:
            print(f"== {args.show} on {branch}")
            git(repository, "show", f"{branch}:{args.show}")


def git(repository, *arguments):
    result = subprocess.run(["git", "-C", repository, *arguments], capture_output=True, text=True)
    for line in (result.stdout or result.stderr).rstrip().splitlines():
        print(line if line.startswith("   ") else "   " + line)


def auth_hint():
    return "-H \"X-API-Key: $ORCHESTRATOR_API_KEY\" " if os.environ.get("ORCHESTRATOR_API_KEY") else ""


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def first_line(text, limit=200):
    # A gate's message quotes its whole command ("`test -s ... ` exited with code 1"): the command is in the gate file.
    text = re.sub(r"`[^`]{40,}`", "its command", str(text))
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def clock(seconds):
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def duration(start, end):
    try:
        seconds = (parse_time(end) - parse_time(start)).total_seconds()
    except (TypeError, ValueError):
        return None
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def parse_time(value):
    # .NET writes 7 fractional digits; Python's fromisoformat takes at most 6 before 3.11.
    text = value.replace("Z", "+00:00")
    if "." in text:
        main, rest = text.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = f"{main}.{digits[:6]}{zone}"
    return datetime.fromisoformat(text)


if __name__ == "__main__":
    sys.exit(main())
