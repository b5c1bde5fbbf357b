// The spawn form. Validation is the service's: the form sends what was typed and shows each entry of the problem's
// `errors` under the field it names (taskId, context.repository, ...); anything else goes above the form.
import { readProblem, request } from './api.js';
import { clear, h } from './dom.js';

let draft = null;

function field(name, label, control, hint) {
  control.id = `spawn-${name.replace('.', '-')}`;
  control.name = name;
  const error = h('p', { class: 'field-error', id: `${control.id}-error`, data: { errorFor: name }, 'aria-live': 'polite' });
  control.setAttribute('aria-describedby', error.id);
  return h('div', { class: 'field', data: { field: name } },
    h('label', { for: control.id }, label), control, hint ? h('p', { class: 'hint' }, hint) : null, error);
}

const select = (options, value) => {
  const element = h('select', {}, options.map(([v, text]) => h('option', { value: v }, text)));
  element.value = value;
  return element;
};

const lines = (text, separator) => text.split(separator).map((s) => s.trim()).filter((s) => s.length > 0);

export function spawnView(ctx) {
  const controls = {
    taskId: h('input', { type: 'text', autocomplete: 'off', placeholder: 'T-42' }),
    agentType: select([['worker', 'worker'], ['reviewer', 'reviewer'], ['tester', 'tester']], 'worker'),
    priority: h('input', { type: 'number', inputmode: 'numeric', placeholder: '5' }),
    gateProfile: select([['', '(service default)'], ['strict', 'strict'], ['standard', 'standard'], ['minimal', 'minimal'], ['custom', 'custom']], ''),
    gates: h('input', { type: 'text', autocomplete: 'off', placeholder: 'tests, coverage' }),
    'context.repository': h('input', { type: 'text', autocomplete: 'off', placeholder: 'https://github.com/org/repo.git' }),
    'context.branch': h('input', { type: 'text', autocomplete: 'off', value: 'main' }),
    'context.workItems': h('textarea', { rows: '3', placeholder: 'US-001: add a RESULT.md that …' }),
    'context.skills': h('input', { type: 'text', autocomplete: 'off', placeholder: 'csharp, docs' }),
  };
  let submitted = false;
  if (draft) for (const [name, value] of Object.entries(draft)) controls[name].value = value;

  const formError = h('div', { class: 'form-error', id: 'spawn-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'spawn-submit' }, 'Spawn agent');
  const form = h('form', { class: 'spawn', id: 'spawn-form', novalidate: true },
    formError,
    h('div', { class: 'grid' },
      field('taskId', 'Task id', controls.taskId, '1-128 of A-Z a-z 0-9 . _ -'),
      field('agentType', 'Agent type', controls.agentType),
      field('priority', 'Priority', controls.priority, '1 (low) to 10 (high); 5 when empty'),
      field('gateProfile', 'Gate profile', controls.gateProfile),
      field('gates', 'Gates (custom profile)', controls.gates, 'comma-separated; empty for the profile\'s gates'),
      field('context.repository', 'Repository', controls['context.repository']),
      field('context.branch', 'Base branch', controls['context.branch']),
      field('context.skills', 'Skills', controls['context.skills'], 'comma-separated')),
    field('context.workItems', 'Work items', controls['context.workItems'], 'one per line'),
    h('div', { class: 'form-buttons' }, submit));

  function body() {
    const value = (name) => controls[name].value.trim();
    const request = { taskId: value('taskId'), agentType: value('agentType') };
    if (value('priority')) {
      // A number when it is one; otherwise what was typed, so the service names the field.
      const number = Number(value('priority'));
      request.priority = Number.isFinite(number) && value('priority') !== '' ? number : value('priority');
    }
    if (value('gateProfile')) request.gateProfile = value('gateProfile');
    if (value('gates')) request.gates = lines(value('gates'), ',');
    request.context = {
      repository: value('context.repository'),
      branch: value('context.branch'),
      workItems: lines(controls['context.workItems'].value, '\n'),
      skills: lines(value('context.skills'), ','),
    };
    return request;
  }

  function clearErrors() {
    formError.hidden = true;
    clear(formError);
    form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
    Object.values(controls).forEach((c) => c.removeAttribute('aria-invalid'));
  }

  function showProblem(problem) {
    const unplaced = [];
    for (const [name, messages] of Object.entries(problem.errors ?? {})) {
      const target = form.querySelector(`.field-error[data-error-for="${CSS.escape(name)}"]`);
      const text = `${Array.isArray(messages) ? messages.join('; ') : String(messages)}`;
      if (target) {
        target.textContent = text;
        controls[name]?.setAttribute('aria-invalid', 'true');
      } else {
        unplaced.push(`${name}: ${text}`);
      }
    }
    formError.append(h('p', {}, problem.detail || problem.title || 'The spawn was refused.'), unplaced.map((u) => h('p', {}, u)));
    formError.hidden = false;
    form.querySelector('[aria-invalid="true"]')?.focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    submit.disabled = true;
    try {
      const response = await request('/agents/spawn', { method: 'POST', body: body() });
      if (response.status === 202) {
        const answer = await response.json();
        submitted = true;
        draft = null;
        ctx.notify(`Agent ${answer.agentId} queued for task ${controls.taskId.value.trim()}.`, 'success');
        location.hash = '#/';
        return;
      }
      showProblem(await readProblem(response));
    } catch (error) {
      showProblem({ detail: error.message });
    } finally {
      submit.disabled = false;
    }
  });

  return {
    root: h('section', { class: 'view-spawn' }, h('div', { class: 'view-head' }, h('h1', {}, 'Spawn an agent')), form),
    dispose() {
      // What was typed survives a look at the table.
      if (!submitted) draft = Object.fromEntries(Object.entries(controls).map(([name, control]) => [name, control.value]));
    },
  };
}
