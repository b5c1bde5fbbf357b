// Builds elements. Agents are hostile: everything they wrote (task ids, logs, diffs, errors, gate output) enters the
// page as text (text nodes, textContent), never as markup: no string is ever parsed as HTML in the dashboard.

/**
 * h('td', { class: 'x', data: { label: 'Task' }, on: { click } }, 'text', child) -> element.
 * Strings and numbers become text nodes; null, undefined and false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'data') Object.assign(element.dataset, value);
    else if (name === 'on') for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    else if (name === 'text') element.textContent = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

export function statusBadge(status) {
  return h('span', { class: `status status-${status}`, data: { status } }, status);
}

export function formatCost(usd) {
  return typeof usd === 'number' ? `$${usd.toFixed(usd < 1 ? 4 : 2)}` : '—';
}

export function formatAge(fromIso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export const LIVE = ['spawning', 'running'];
export const STATUSES = ['spawning', 'running', 'completed', 'failed', 'killed'];
export const isUuid = (text) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
// The last 8 hex digits: the random part of a version 7 id (its first ones are the time, alike for agents spawned together),
// as AGENT_BRANCH_TEMPLATE's {shortId} puts it in the branch name.
export const shortId = (agentId) => agentId.slice(-8);
