// One agent: its record (summary, gate verdicts, secret findings as the service redacted them, the whole record),
// its log followed live, its diff, and the kill button. Everything the agent wrote is shown as text.
import { follow, getJson, request } from './api.js';
import { clear, formatCost, formatTime, h, LIVE, shortId, statusBadge } from './dom.js';

const MAX_LOG_LINES = 5000;

/** The scanner's findings by file and line of the new file, to hide those lines of the diff. */
function findingsByLine(findings) {
  const byLine = new Map();
  for (const finding of findings) byLine.set(`${finding.file}\n${finding.line}`, finding);
  return byLine;
}

/**
 * The diff's lines with their kind; an added line a secret finding points to (same file, same line of the new file,
 * counted from the hunk headers) carries that finding, so the page shows the finding instead of the secret.
 */
function* diffLines(text, hidden) {
  let file = null;
  let inHunk = false;
  let next = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff ')) {
      inHunk = false;
      file = null;
      yield { line, kind: 'file' };
    } else if (!inHunk && (line.startsWith('+++ ') || line.startsWith('--- '))) {
      if (line.startsWith('+++ ')) file = line.slice(4).replace(/^b\//, '');
      yield { line, kind: 'file' };
    } else if (line.startsWith('@@')) {
      inHunk = true;
      next = Number(/\+(\d+)/.exec(line)?.[1] ?? 0);
      yield { line, kind: 'hunk' };
    } else if (inHunk && line.startsWith('+')) {
      yield { line, kind: 'add', finding: hidden.get(`${file}\n${next}`) };
      next += 1;
    } else if (inHunk && line.startsWith('-')) {
      yield { line, kind: 'del' };
    } else {
      if (inHunk && line.startsWith(' ')) next += 1;
      yield { line, kind: 'ctx' };
    }
  }
}

export function agentView(agentId, ctx) {
  const controller = new AbortController();
  let agent = null;
  let refreshTimer = null;
  let diffLoadedFor = null;

  const title = h('h1', {}, 'Agent');
  const badge = h('span');
  const kill = h('button', { type: 'button', class: 'button danger', id: 'kill-agent', hidden: true }, 'Kill');
  const summary = h('dl', { class: 'summary', id: 'agent-summary' });
  const logState = h('span', { class: 'muted', id: 'log-state' }, 'connecting');
  const log = h('pre', { class: 'log', id: 'agent-log', tabindex: '0', 'aria-label': 'Log' });
  const diff = h('pre', { class: 'diff', id: 'agent-diff', tabindex: '0', 'aria-label': 'Diff' });
  const gates = h('div', { id: 'agent-gates' });
  const findings = h('div', { id: 'agent-findings' });
  const record = h('pre', { class: 'record', id: 'agent-record' });
  const root = h('section', { class: 'view-agent', data: { agentId } },
    h('p', {}, h('a', { href: '#/' }, '← All agents')),
    h('div', { class: 'view-head' }, title, badge, kill),
    h('section', { class: 'panel' }, h('h2', {}, 'Summary'), summary),
    h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Log'), logState), log),
    h('section', { class: 'panel' }, h('h2', {}, 'Diff'), diff),
    h('section', { class: 'panel' }, h('h2', {}, 'Gate verdicts'), gates),
    h('section', { class: 'panel' }, h('h2', {}, 'Secret findings'), findings),
    h('details', { class: 'panel' }, h('summary', {}, h('h2', {}, 'Record')), record));

  function renderSummary() {
    const rows = [
      ['Agent', agent.agentId],
      ['Status', agent.status + (agent.reason ? ` (${agent.reason})` : '')],
      ['Error', agent.error],
      ['Type', agent.agentType],
      ['Priority', agent.priority],
      ['Attempt', `${agent.attempt} of ${agent.maxAttempts}` + (agent.nextAttemptAt ? `, next at ${formatTime(agent.nextAttemptAt)}` : '')],
      ['Gate profile', agent.gateProfile + (agent.customGates?.length ? `: ${agent.customGates.join(', ')}` : '')],
      ['Repository', `${agent.context.repository} @ ${agent.context.branch}`],
      ['Work items', agent.context.workItems?.join(', ')],
      ['Branch', agent.branch ? `${agent.branch}${agent.pushed ? ' (pushed)' : ''}` : null],
      ['Commits', agent.baseCommit ? `${agent.baseCommit.slice(0, 10)}..${(agent.headCommit ?? '').slice(0, 10)}` : null],
      ['WIP', agent.wipBranch ? `${agent.wipBranch} ${agent.wipCommit?.slice(0, 10) ?? ''}` : agent.wipError],
      ['Conflicts', agent.conflicts?.join(', ')],
      ['Cost', formatCost(agent.totalCostUsd)],
      ['Spawned', `${formatTime(agent.spawnedAt)}${agent.spawnedBy ? ` by ${agent.spawnedBy}` : ''}`],
      ['Started', agent.startedAt ? formatTime(agent.startedAt) : null],
      ['Ended', agent.completedAt ? formatTime(agent.completedAt) : null],
      ['Node', agent.node],
      ['Resumed from', agent.resumedFrom],
    ];
    clear(summary);
    for (const [name, value] of rows) {
      if (value === null || value === undefined || value === '') continue;
      summary.append(h('dt', {}, name), h('dd', { data: { field: name.toLowerCase().replace(/ /g, '-') } }, String(value)));
    }
  }

  function renderGates() {
    clear(gates);
    if (!agent.gates?.length) {
      gates.append(h('p', { class: 'muted' }, agent.status === 'completed' || !LIVE.includes(agent.status) ? 'No gate ran.' : 'No verdict yet.'));
      return;
    }
    gates.append(h('div', { class: 'table-wrap' }, h('table', { class: 'gates' },
      h('thead', {}, h('tr', {}, ['Gate', 'Round', 'Phase', 'Verdict', 'Time', 'Message'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, agent.gates.map((g) => h('tr', { data: { gate: g.gate } },
        h('td', { data: { label: 'Gate' } }, g.gate),
        h('td', { data: { label: 'Round' }, class: 'num' }, String(g.round)),
        h('td', { data: { label: 'Phase' } }, g.phase),
        h('td', { data: { label: 'Verdict' } }, h('span', { class: `verdict ${!g.passed ? 'failed' : g.status === 'passed' ? 'passed' : 'neutral'}` }, g.status)),
        h('td', { data: { label: 'Time' }, class: 'num' }, `${(g.durationMs / 1000).toFixed(1)} s`),
        h('td', { data: { label: 'Message' } }, g.message ?? '',
          g.coveragePercent != null ? ` (coverage ${g.coveragePercent.toFixed(1)}%)` : '',
          g.outputTail ? h('details', {}, h('summary', {}, 'output'), h('pre', { class: 'output' }, g.outputTail)) : null)))))));
  }

  function renderFindings() {
    clear(findings);
    if (!agent.secretFindings?.length) {
      findings.append(h('p', { class: 'muted' }, 'None.'));
      return;
    }
    // The service stores only redacted previews and fingerprints, never the secret.
    findings.append(h('div', { class: 'table-wrap' }, h('table', { class: 'findings' },
      h('thead', {}, h('tr', {}, ['Rule', 'Where', 'Commit', 'Preview', 'Fingerprint'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, agent.secretFindings.map((f) => h('tr', {},
        h('td', { data: { label: 'Rule' }, title: f.description }, f.ruleId),
        h('td', { data: { label: 'Where' } }, `${f.file}:${f.line}`),
        h('td', { data: { label: 'Commit' } }, f.commit ? f.commit.slice(0, 10) : '—'),
        h('td', { data: { label: 'Preview' } }, h('code', {}, f.preview)),
        h('td', { data: { label: 'Fingerprint' } }, h('code', {}, f.fingerprint))))))));
  }

  async function refresh() {
    try {
      agent = await getJson(`/agents/${agentId}/status`, { signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) return;
      clear(summary).append(h('p', { class: 'error' }, error.message));
      return;
    }
    title.textContent = agent.taskId;
    badge.replaceChildren(statusBadge(agent.status));
    kill.hidden = !LIVE.includes(agent.status);
    renderSummary();
    renderGates();
    renderFindings();
    record.textContent = JSON.stringify(agent, null, 2);
    // The diff changes when a commit is made; re-read it when the head moves or the agent ends.
    const diffKey = `${agent.headCommit}|${agent.status}|${agent.secretFindings?.length ?? 0}`;
    if (diffLoadedFor !== diffKey) {
      diffLoadedFor = diffKey;
      loadDiff();
    }
  }

  async function loadDiff() {
    let response;
    try {
      response = await request(`/agents/${agentId}/diff`, { signal: controller.signal, accept: 'text/x-diff' });
    } catch {
      return;
    }
    clear(diff);
    if (response.status === 404) {
      diff.append(h('span', { class: 'muted' }, 'No diff yet: the agent has made no commit.'));
      return;
    }
    if (!response.ok) {
      diff.append(h('span', { class: 'error' }, `HTTP ${response.status}`));
      return;
    }
    const text = await response.text();
    const hidden = findingsByLine(agent?.secretFindings ?? []);
    for (const { line, kind, finding } of diffLines(text, hidden)) {
      diff.append(finding
        ? h('span', { class: 'line redacted' }, `+[line hidden: secret finding ${finding.ruleId} at ${finding.file}:${finding.line}]`)
        : h('span', { class: `line ${kind}` }, line), '\n');
    }
  }

  function appendLog(line) {
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(h('span', { class: 'line' }, line), '\n');
    while (log.childNodes.length > MAX_LOG_LINES * 2) {
      log.firstChild.remove();
    }
    if (nearBottom) log.scrollTop = log.scrollHeight;
  }

  function followLog() {
    follow(`/agents/${agentId}/logs?follow=true`, {
      signal: controller.signal,
      // A follow sends the whole log from its start: a reconnect starts over.
      onOpen: () => clear(log),
      onState: (state, detail) => {
        if (state === 'error' && detail) logState.textContent = detail;
        else if (state !== 'ended') logState.textContent = state === 'live' ? 'following' : state;
      },
      onEvent: (event) => {
        if (event.type === 'log') appendLog(event.data);
        else if (event.type === 'attempt') appendLog(`── attempt ${event.data} ──`);
        else if (event.type === 'end') {
          logState.textContent = `ended: ${event.data}`;
          return false;
        }
        return true;
      },
    });
  }

  kill.addEventListener('click', async () => {
    const answer = await ctx.confirm(
      `Kill agent ${shortId(agentId)} (task ${agent?.taskId ?? ''})? Its whole process tree is ended; work so far is kept on its WIP branch.`, 'Kill');
    if (answer.ok) {
      await ctx.post(`/agents/${agentId}/kill`, answer.reason ? { reason: answer.reason } : undefined, (done) => done.message);
      scheduleRefresh();
    }
  });

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 100);
  }

  refresh();
  followLog();

  return {
    root,
    onEvent(event) {
      if (event.agentId === agentId) scheduleRefresh();
    },
    onReconnect: scheduleRefresh,
    dispose() {
      controller.abort();
      clearTimeout(refreshTimer);
    },
  };
}
