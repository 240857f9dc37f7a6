// The overview page (`#/`): the task board with its actions, the runs table, the budget.

import { act, flash, getJSON, loadWhere, stream } from './api.js';
import { renderBudget } from './budget.js';
import { add, costText, duration, fill, h, runHref, statusBadge, when } from './dom.js';

const COLUMNS = [['blocked', 'Blocked'], ['ready', 'Ready'], ['in_progress', 'In progress'], ['done', 'Done']];
const STATUSES = ['pending', 'running', 'paused', 'interrupted', 'succeeded', 'failed', 'cancelled', 'needs_attention'];

/** The overview, in `root`: task board, runs table, budget; `dispose()` stops its updates. */
export function overviewPage(root) {
  const runs = new Map();
  let filter = '';
  let renderQueued = false;
  let tasksTimer = null;
  let budgetTimer = null;

  const budgetBox = h('section', { class: 'panel budget', testid: 'budget' }, h('h2', {}, 'Budget'), h('p', { class: 'muted' }, 'loading…'));
  const text = h('input', { type: 'text', testid: 'new-task-text', placeholder: 'Describe a task to run…', 'aria-label': 'task text', autocomplete: 'off' });
  const submit = h('button', { type: 'submit', testid: 'new-task-submit' }, 'Start run');
  const form = h('form', { class: 'new-task', onsubmit: async (ev) => {
    ev.preventDefault();
    const task = text.value.trim();
    if (!task) { flash('error', 'Write the task first.'); return; }
    const res = await act('Start run', '/api/runs', { task }, submit);
    if (res) text.value = '';
  } }, text, submit);
  const runAll = h('button', { type: 'button', testid: 'run-all', onclick: (ev) => act('Run all ready', '/api/sessions', {}, ev.currentTarget) }, 'Run all ready');
  const board = h('div', { class: 'board' });
  const boardNotes = h('div', { class: 'notes' });
  const select = h('select', { 'aria-label': 'filter runs by status', testid: 'runs-filter', onchange: () => { filter = select.value; renderRuns(); } },
    h('option', { value: '' }, 'all statuses'), STATUSES.map((s) => h('option', { value: s }, s.replace(/_/g, ' '))));
  const tbody = h('tbody');
  const runsNote = h('p', { class: 'muted' });

  add(root,
    h('div', { class: 'overview' },
      h('div', { class: 'main-col' },
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', {}, 'Tasks'), h('div', { class: 'actions' }, form, runAll)),
          board, boardNotes),
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', {}, 'Runs'), select),
          h('div', { class: 'table-wrap' },
            h('table', { class: 'runs' },
              h('thead', {}, h('tr', {}, ['Run', 'Status', 'Task', 'Cost', 'Duration', 'Created'].map((c) => h('th', {}, c)))),
              tbody)),
          runsNote)),
      h('aside', { class: 'side-col' }, budgetBox)));

  async function loadTasks() {
    try {
      renderBoard(await getJSON('/api/tasks'));
    } catch (e) {
      fill(board, h('p', { class: 'error' }, `Tasks could not be read: ${e.message}`));
    }
  }

  // Columns, cards and rows keep their elements while their data is unchanged (live updates
  // do not replace what a reader, or a browser test, is looking at).
  const columns = new Map(COLUMNS.map(([key, title]) => {
    const count = h('span', { class: 'count' });
    const list = h('div', { class: 'cards' });
    return [key, { count, list, el: h('section', { class: `column col-${key}`, testid: `column-${key}` }, h('h3', {}, title, count), list) }];
  }));
  let cardEls = new Map();

  function renderBoard(data) {
    const tasks = data && Array.isArray(data.tasks) ? data.tasks : [];
    if (!data || data.source === null || data.source === undefined) {
      fill(board, h('p', { class: 'muted' }, 'This workflow has no tasks: section. Start a run from text above.'));
    } else {
      const next = new Map();
      for (const [key, col] of columns) {
        const cards = tasks.filter((t) => t.column === key).map((t) => {
          const json = JSON.stringify(t);
          const old = cardEls.get(String(t.id));
          const el = old && old.json === json ? old.el : taskCard(t);
          next.set(String(t.id), { json, el });
          return el;
        });
        col.count.textContent = String(cards.length);
        fill(col.list, cards.length ? cards : h('p', { class: 'empty' }, 'none'));
      }
      cardEls = next;
      if (board.firstElementChild !== columns.get(COLUMNS[0][0]).el) fill(board, [...columns.values()].map((c) => c.el));
    }
    const notes = [...(data && data.problems) || [], ...(data && data.warnings) || []];
    fill(boardNotes, notes.map((n) => h('p', { class: 'note' }, n.location ? `${n.location}: ` : '', n.message)));
  }

  function taskCard(t) {
    const id = String(t.id);
    const deps = Array.isArray(t.depends_on) ? t.depends_on : [];
    const blockers = Array.isArray(t.blocked_by) ? t.blocked_by : [];
    const labels = Array.isArray(t.labels) ? t.labels : [];
    return h('article', { class: 'card', testid: `card-${id}` },
      h('div', { class: 'card-head' },
        h('span', { class: 'task-id' }, id),
        Number.isInteger(t.priority) ? h('span', { class: `prio prio-${Math.min(t.priority, 3)}` }, `P${t.priority}`) : null),
      h('div', { class: 'card-title' }, t.title || '(untitled)'),
      deps.length ? h('div', { class: 'meta' }, 'depends on ', deps.join(', ')) : null,
      blockers.length ? h('div', { class: 'meta blocked' }, 'blocked by ', blockers.map(blockerText).join('; ')) : null,
      labels.length ? h('div', { class: 'labels' }, labels.map((l) => h('span', { class: 'label' }, l))) : null,
      h('div', { class: 'card-foot' },
        t.run && t.run.run_id
          ? h('a', { class: 'run-link', href: runHref(t.run.run_id), title: `run ${t.run.run_id}` }, statusBadge(t.run.status), ` ${shortId(t.run.run_id)}`)
          : null,
        t.column === 'ready'
          ? h('button', { type: 'button', class: 'small', testid: `run-task-${id}`, onclick: (ev) => act(`Run ${id}`, '/api/runs', { task: id }, ev.currentTarget) }, 'Run')
          : null));
  }

  function renderRuns() {
    const rows = [...runs.values()]
      .filter((r) => !filter || r.status === filter)
      .sort((a, b) => (String(a.run_id) < String(b.run_id) ? 1 : -1));
    tbody.replaceChildren(...rows.map(runRow));
    runsNote.textContent = rows.length ? '' : (runs.size ? 'No runs match.' : 'No runs yet.');
  }

  const rowEls = new Map();

  /** The row of run `r`: one `tr` per run for the page's life, its cells refilled on change. */
  function runRow(r) {
    const id = String(r.run_id);
    let row = rowEls.get(id);
    if (!row) {
      const cells = [h('td', { class: 'mono run-id' }, h('a', { href: runHref(id) }, id)), h('td', { testid: 'run-status' }),
        h('td', { class: 'task-cell' }), h('td', { class: 'num' }), h('td', { class: 'num' }), h('td', { class: 'nowrap' })];
      row = { json: '', cells, tr: h('tr', { testid: `run-row-${id}` }, cells) };
      rowEls.set(id, row);
    }
    const json = JSON.stringify(r);
    if (row.json !== json) {
      row.json = json;
      const [, status, task, cost, took, created] = row.cells;
      fill(status, statusBadge(r.status));
      fill(task, r.task_id ? [h('span', { class: 'task-id' }, String(r.task_id)), ' '] : null, r.task || '');
      cost.textContent = costText(r.spend);
      took.textContent = duration(r.duration_ms);
      created.textContent = when(r.created_at);
      created.title = r.created_at || '';
    }
    return row.tr;
  }

  function queueRuns() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; renderRuns(); });
  }

  function takeRows(rows) {
    for (const r of [rows].flat()) if (r && r.run_id) runs.set(String(r.run_id), r);
    queueRuns();
  }

  async function loadBudget() {
    try {
      renderBudget(budgetBox, await getJSON('/api/budget'), null);
    } catch (e) {
      fill(budgetBox, h('h2', {}, 'Budget'), h('p', { class: 'error' }, e.message));
    }
  }

  function later(timer, fn) {
    clearTimeout(timer);
    return setTimeout(fn, 300);
  }

  loadWhere();
  loadTasks();
  loadBudget();
  getJSON('/api/runs?limit=200').then(takeRows, (e) => { runsNote.textContent = `Runs could not be read: ${e.message}`; });
  const es = stream('/api/events', {
    runs: (rows) => { takeRows(rows); budgetTimer = later(budgetTimer, loadBudget); },
    tasks: () => { tasksTimer = later(tasksTimer, loadTasks); },
  });

  return {
    dispose() {
      es.close();
      clearTimeout(tasksTimer);
      clearTimeout(budgetTimer);
    },
  };
}

function blockerText(b) {
  if (!b || typeof b !== 'object') return String(b);
  switch (b.reason) {
    case 'dependency': return `${b.id} (${String(b.status || '').replace(/_/g, ' ')})`;
    case 'unknown_dependency': return `${b.id} (unknown)`;
    case 'cycle': return `a cycle among ${(b.ids || []).join(', ')}${b.more ? ` and ${b.more} more` : ''}`;
    case 'status': return `its status (${b.status})`;
    default: return String(b.reason || '?');
  }
}

/** A run id for a card: its last characters (a ULID's first ten are its creation time). */
function shortId(id) {
  const s = String(id);
  return s.length > 10 ? `…${s.slice(-8)}` : s;
}
