// The dashboard's shell: the key prompt, the confirmation dialog, notices, queue stats and actions, the one events
// stream every view listens to, and the hash router (#/, #/spawn, #/agents/<id>).
import { follow, getJson, onKeyNeeded, readProblem, request } from './api.js';
import { clear, h, isUuid } from './dom.js';
import { agentsView } from './agents.js';
import { agentView } from './agent.js';
import { spawnView } from './spawn.js';

const $ = (id) => document.getElementById(id);
let current = null;
let stats = null;
let statsTimer = null;
let noticeTimer = null;

const ctx = {
  notify(text, kind = 'info') {
    const notice = $('notice');
    notice.textContent = text;
    notice.className = `notice notice-${kind}`;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.hidden = true; }, kind === 'error' ? 15000 : 6000);
  },

  /** A modal confirmation with an optional reason: resolves {ok, reason}. */
  confirm(text, okLabel) {
    const dialog = $('confirm-dialog');
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    $('confirm-reason').value = '';
    dialog.showModal();
    return new Promise((resolve) => {
      const done = (ok) => {
        $('confirm-form').removeEventListener('submit', submit);
        $('confirm-cancel').removeEventListener('click', cancel);
        dialog.removeEventListener('cancel', cancel);
        dialog.close();
        resolve({ ok, reason: $('confirm-reason').value.trim() });
      };
      const submit = (event) => { event.preventDefault(); done(true); };
      const cancel = (event) => { event.preventDefault(); done(false); };
      $('confirm-form').addEventListener('submit', submit);
      $('confirm-cancel').addEventListener('click', cancel);
      dialog.addEventListener('cancel', cancel);
    });
  },

  /** Runs a POST and says what came of it: the service's message, or its problem's detail. */
  async post(path, body, success) {
    try {
      const response = await request(path, { method: 'POST', body });
      if (!response.ok) {
        const problem = await readProblem(response);
        ctx.notify(problem.detail || problem.title, 'error');
        return null;
      }
      const answer = await response.json();
      ctx.notify(success(answer), 'success');
      ctx.refreshStats();
      return answer;
    } catch (error) {
      ctx.notify(error.message, 'error');
      return null;
    }
  },

  refreshStats() {
    clearTimeout(statsTimer);
    statsTimer = setTimeout(loadStats, 250);
  },
};

function askForKey(reason) {
  const dialog = $('key-dialog');
  const input = $('key-input');
  $('key-error').textContent = reason;
  input.value = '';
  if (!dialog.open) dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) {
        $('key-error').textContent = 'Type the key the service was started with (ORCHESTRATOR_API_KEY).';
        return;
      }
      $('key-form').removeEventListener('submit', submit);
      dialog.close();
      resolve(key);
    };
    $('key-form').addEventListener('submit', submit);
  });
}

async function loadStats() {
  try {
    stats = await getJson('/agents/queue/stats');
  } catch (error) {
    ctx.notify(`Queue stats: ${error.message}`, 'error');
    return;
  }
  const figure = (name, value, extra = '') => h('div', { class: `stat ${extra}`, data: { stat: name } },
    h('span', { class: 'stat-value' }, String(value)), h('span', { class: 'stat-name' }, name));
  clear($('stats')).append(
    figure('pending', stats.pending),
    figure('delayed', stats.delayed),
    figure('active', stats.active),
    figure('completed', stats.completed),
    figure('failed', stats.failed),
    figure('killed', stats.killed),
    h('div', { class: `stat queue-state ${stats.paused ? 'paused' : 'running'}`, data: { stat: 'queue' } },
      h('span', { class: 'stat-value' }, stats.emergencyStop ? 'emergency stop' : stats.paused ? 'paused' : 'leasing'),
      h('span', { class: 'stat-name' }, 'queue')));
  $('queue-toggle').textContent = stats.paused ? 'Resume queue' : 'Pause queue';
}

function route() {
  current?.dispose();
  const hash = location.hash || '#/';
  const agent = /^#\/agents\/([^/?]+)$/.exec(hash);
  if (agent && isUuid(agent[1])) current = agentView(agent[1], ctx);
  else if (hash === '#/spawn') current = spawnView(ctx);
  else current = agentsView(ctx);
  clear($('view')).append(current.root);
  document.querySelectorAll('.actions a').forEach((link) =>
    link.classList.toggle('current', link.getAttribute('href') === (hash === '#/spawn' ? '#/spawn' : '#/')));
}

function start() {
  onKeyNeeded(askForKey);
  $('key-dialog').addEventListener('cancel', (event) => event.preventDefault());
  $('queue-toggle').addEventListener('click', () => {
    const pause = !stats?.paused;
    ctx.post(`/agents/queue/${pause ? 'pause' : 'resume'}`, undefined, () => (pause
      ? 'Queue paused: no new task starts; spawns still queue.'
      : 'Queue resumed.'));
  });
  $('kill-all').addEventListener('click', async () => {
    const answer = await ctx.confirm('Kill every live agent? Each one\'s whole process tree is ended; work so far is kept on its WIP branch.', 'Kill all');
    if (answer.ok) {
      await ctx.post('/agents/kill-all', answer.reason ? { reason: answer.reason } : undefined, (report) => report.message);
    }
  });
  window.addEventListener('hashchange', route);
  route();
  loadStats();
  setInterval(loadStats, 10000);

  const connection = $('connection');
  follow('/agents/events', {
    signal: new AbortController().signal,
    onState: (state, detail) => {
      connection.textContent = state === 'error' ? `stream error: ${detail}` : state;
      connection.dataset.state = state;
    },
    // Whatever happened before the stream was open (or while it was down) is read again once it is.
    onOpen: () => { current?.onReconnect?.(); loadStats(); },
    onEvent: (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      current?.onEvent?.(data);
      ctx.refreshStats();
    },
  });
}

start();
