// The agents table: newest first, filtered by status and task (by the API), kept up to date from the events stream
// (each event re-reads its agent's record), ages ticking every second.
import { getJson } from './api.js';
import { clear, formatAge, formatCost, h, shortId, STATUSES, statusBadge } from './dom.js';

const PAGE = 200;
// Kept across views: going to an agent and back keeps the filter.
const filters = { status: '', taskId: '' };

export function agentsView(ctx) {
  const rows = new Map();
  const due = new Set();
  const controller = new AbortController();
  let refreshTimer = null;
  let loading = null;
  let total = 0;

  const status = h('select', { id: 'filter-status', name: 'status', 'aria-label': 'Filter by status' },
    h('option', { value: '' }, 'all statuses'),
    STATUSES.map((s) => h('option', { value: s }, s)));
  status.value = filters.status;
  const task = h('input', { id: 'filter-task', name: 'taskId', type: 'search', placeholder: 'task id', 'aria-label': 'Filter by task id', autocomplete: 'off' });
  task.value = filters.taskId;
  const count = h('span', { class: 'muted', id: 'agent-count' });
  const body = h('tbody');
  const empty = h('p', { class: 'empty muted' }, 'Loading…');
  const table = h('table', { class: 'agents', id: 'agents-table', hidden: true },
    h('thead', {}, h('tr', {}, ['Status', 'Task', 'Type', 'Priority', 'Attempt', 'Cost', 'Age', 'Agent'].map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const filterForm = h('form', { class: 'filters', role: 'search', on: { submit: (e) => e.preventDefault() } },
    status, task, count);
  const root = h('section', { class: 'view-agents' },
    h('div', { class: 'view-head' }, h('h1', {}, 'Agents'), filterForm),
    h('div', { class: 'table-wrap' }, table), empty);

  const matches = (agent) => (!filters.status || agent.status === filters.status) && (!filters.taskId || agent.taskId === filters.taskId);

  function cells(agent) {
    const link = h('a', { href: `#/agents/${agent.agentId}` }, agent.taskId);
    return [
      h('td', { data: { label: 'Status' } }, statusBadge(agent.status)),
      h('td', { data: { label: 'Task' }, class: 'task' }, link),
      h('td', { data: { label: 'Type' } }, agent.agentType),
      h('td', { data: { label: 'Priority' }, class: 'num' }, String(agent.priority)),
      h('td', { data: { label: 'Attempt' }, class: 'num' }, `${agent.attempt}/${agent.maxAttempts}`),
      h('td', { data: { label: 'Cost' }, class: 'num' }, formatCost(agent.totalCostUsd)),
      h('td', { data: { label: 'Age', age: agent.spawnedAt }, class: 'num age' }, formatAge(agent.spawnedAt)),
      h('td', { data: { label: 'Agent' } }, h('code', { title: agent.agentId }, shortId(agent.agentId))),
    ];
  }

  function render(row, agent) {
    row.dataset.status = agent.status;
    row.replaceChildren(...cells(agent));
  }

  function showCount() {
    count.textContent = total > rows.size ? `${rows.size} of ${total}` : `${rows.size} agent${rows.size === 1 ? '' : 's'}`;
    empty.textContent = 'No agents match.';
    empty.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
  }

  function upsert(agent) {
    const known = rows.get(agent.agentId);
    if (!matches(agent)) {
      if (known) {
        known.row.remove();
        rows.delete(agent.agentId);
        total = Math.max(0, total - 1);
      }
      showCount();
      return;
    }
    if (known) {
      known.agent = agent;
      render(known.row, agent);
    } else {
      const row = h('tr', { data: { agentId: agent.agentId } });
      render(row, agent);
      // Newest first, as the API lists them.
      const after = [...rows.values()].find((r) => r.agent.spawnedAt < agent.spawnedAt);
      body.insertBefore(row, after ? after.row : null);
      rows.set(agent.agentId, { row, agent });
      total += 1;
    }
    showCount();
  }

  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (filters.status) query.set('status', filters.status);
    if (filters.taskId) query.set('taskId', filters.taskId);
    const attempt = (async () => {
      const page = await getJson(`/agents?${query}`, { signal: controller.signal });
      clear(body);
      rows.clear();
      total = page.total;
      for (const agent of page.items) {
        const row = h('tr', { data: { agentId: agent.agentId } });
        render(row, agent);
        body.append(row);
        rows.set(agent.agentId, { row, agent });
      }
      showCount();
    })();
    loading = attempt;
    try {
      await attempt;
    } catch (error) {
      if (!controller.signal.aborted) ctx.notify(`Agents: ${error.message}`, 'error');
    } finally {
      if (loading === attempt) loading = null;
      // Events that came while the page was being read: read those agents again, the page may predate them.
      flushSoon();
    }
  }

  function flushSoon() {
    if (refreshTimer || due.size === 0 || loading) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      const ids = [...due];
      due.clear();
      await Promise.all(ids.map(async (id) => {
        try {
          upsert(await getJson(`/agents/${id}/status`, { signal: controller.signal }));
        } catch {
          // Gone (retention) or the view closed: nothing to show.
        }
      }));
      flushSoon();
    }, 100);
  }

  let typing = null;
  status.addEventListener('change', () => { filters.status = status.value; load(); });
  task.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { filters.taskId = task.value.trim(); load(); }, 250);
  });
  const ticker = setInterval(() => {
    const now = Date.now();
    body.querySelectorAll('td.age').forEach((cell) => { cell.textContent = formatAge(cell.dataset.age, now); });
  }, 1000);
  load();

  return {
    root,
    onEvent(event) {
      if (!event.agentId) return;
      due.add(event.agentId);
      flushSoon();
    },
    onReconnect: load,
    dispose() {
      controller.abort();
      clearInterval(ticker);
      clearTimeout(refreshTimer);
      clearTimeout(typing);
    },
  };
}
