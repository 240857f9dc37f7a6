// The engine dashboard: one ES module, no dependencies, no build step.
//
// Everything it shows comes from the JSON API and the SSE streams of `engine serve`
// (docs/http-api.md). Every piece of text from the API (task titles, agent output, log lines,
// stage ids...) is hostile input: it reaches the page only as text nodes (textContent,
// createTextNode) or attribute values, never as HTML. Links are built from `#/runs/` plus an
// encoded id, never from data alone. No inline handlers or styles (the server sends a strict
// Content-Security-Policy).

const app = document.getElementById('app');
const flashBox = document.getElementById('flash');
const liveDot = document.getElementById('live');

// ---------------------------------------------------------------------------------------------
// DOM helpers

/** Creates an element: `props` sets class, data-testid, event listeners (`on...`), DOM
 *  properties (value, disabled...) or attributes; children are nodes or text. */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'testid') node.dataset.testid = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  add(node, children);
  return node;
}

/** Appends children (nodes, text, nested arrays; null/false skipped) as nodes or text. */
function add(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces an element's children. */
function fill(node, ...children) {
  node.replaceChildren();
  return add(node, children);
}

/** The page of one run. */
function runHref(id) {
  return `#/runs/${encodeURIComponent(id)}`;
}

/** A class-name-safe token from API data (letters, digits, `_`). */
function token(value) {
  return String(value ?? '').toLowerCase().replace(/[^a-z0-9_]/g, '');
}

/** The name of a serde-tagged value: `"running"` or `{"phase": "running", ...}`. */
function tagName(value, key) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return typeof value[key] === 'string' ? value[key] : '';
}

// ---------------------------------------------------------------------------------------------
// Formatting

function money(usd) {
  return `$${Number(usd).toFixed(2)}`;
}

/** A spend as `engine runs` shows it: unknown cost is "unknown", never "$0". */
function costText(spend) {
  if (!spend) return 'unknown';
  const approx = spend.cost_estimated ? '~' : '';
  const cost = Number(spend.cost_usd) || 0;
  const zero = cost === 0 && !spend.input_tokens && !spend.output_tokens
    && !spend.cache_read_tokens && !spend.cache_write_tokens;
  if (zero) return spend.cost_known ? '—' : 'unknown';
  if (!spend.cost_known && cost === 0) return 'unknown';
  return spend.cost_known ? `${approx}${money(cost)}` : `${approx}${money(cost)}+?`;
}

function sumSpend(spends) {
  const total = { cost_usd: 0, cost_known: true, input_tokens: 0, output_tokens: 0,
    cache_read_tokens: 0, cache_write_tokens: 0, cost_estimated: false };
  for (const s of spends) {
    if (!s) continue;
    total.cost_usd += Number(s.cost_usd) || 0;
    total.cost_known &&= s.cost_known !== false;
    total.cost_estimated ||= Boolean(s.cost_estimated);
    for (const k of ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens']) {
      total[k] += Number(s[k]) || 0;
    }
  }
  return total;
}

function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms))) return '—';
  const s = Math.max(0, Math.round(Number(ms) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

function when(value) {
  if (value === null || value === undefined || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} `
    + `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function statusBadge(status, testid) {
  const name = String(status || 'unknown');
  return h('span', { class: `badge st-${token(name)}`, testid }, name.replace(/_/g, ' '));
}

// ---------------------------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request(path, options = {}) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', ...options });
  } catch (e) {
    throw new ApiError(`the server cannot be reached (${e.message})`, 0);
  }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!res.ok) {
    let message = body && typeof body.error === 'string' ? body.error : `${res.status} ${res.statusText}`;
    if (res.status === 401) message += ' — open this page as /?token=TOKEN to sign in';
    throw new ApiError(message, res.status, body);
  }
  return { body, text };
}

async function getJSON(path) {
  return (await request(path, { headers: { Accept: 'application/json' } })).body;
}

async function getText(path) {
  return (await request(path)).text;
}

async function post(path, body = {}) {
  return (await request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  })).body;
}

/** Sends an action; shows its `output` lines (or the server's error) in the flash area. */
async function act(label, path, body, button) {
  if (button) button.disabled = true;
  try {
    const res = await post(path, body);
    flash('ok', `${label}: done`, res && res.output, res && res.run_id);
    return res || {};
  } catch (e) {
    flash('error', `${label} failed: ${e.message}`, e.body && e.body.output);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

function flash(kind, message, output, runId) {
  flashBox.hidden = false;
  flashBox.className = `flash flash-${kind}`;
  const lines = Array.isArray(output) ? output.map(String) : [];
  fill(flashBox,
    h('button', { class: 'flash-close', type: 'button', title: 'dismiss', onclick: () => { flashBox.hidden = true; } }, '×'),
    h('div', { class: 'flash-message' }, message,
      runId ? [' — ', h('a', { href: runHref(runId), testid: 'flash-run-link' }, `open run ${runId}`)] : null),
    lines.length ? h('pre', { class: 'flash-output' }, lines.join('\n')) : null);
}

/** An EventSource with JSON handlers; shows its health in the top bar. */
function stream(path, handlers) {
  const es = new EventSource(path, { withCredentials: false });
  es.addEventListener('open', () => {
    liveDot.className = 'live live-on';
    liveDot.textContent = 'live';
    if (handlers.open) handlers.open();
  });
  es.addEventListener('error', () => {
    const closed = es.readyState === EventSource.CLOSED;
    liveDot.className = closed ? 'live live-off' : 'live live-wait';
    liveDot.textContent = closed ? 'offline' : 'reconnecting…';
  });
  for (const [name, fn] of Object.entries(handlers)) {
    if (name === 'open') continue;
    es.addEventListener(name, (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      fn(data);
    });
  }
  return es;
}

// ---------------------------------------------------------------------------------------------
// Routing: `#/` the board and runs, `#/runs/{id}` one run.

let page = null;

function route() {
  if (page) page.dispose();
  page = null;
  app.replaceChildren();
  liveDot.className = 'live';
  liveDot.textContent = '';
  flashBox.hidden = true;
  const match = /^#\/runs\/([^/?#]+)$/.exec(location.hash);
  let id = null;
  if (match) {
    try { id = decodeURIComponent(match[1]); } catch { id = null; }
  }
  page = id ? runPage(id) : overviewPage();
  window.scrollTo(0, 0);
}

/** The workflow `engine serve` serves (its budget is the one /api/budget gives). */
let servedWorkflow = null;

async function loadWhere() {
  try {
    const s = await getJSON('/api/status');
    servedWorkflow = s && s.workflow ? s.workflow.name : null;
    const where = document.getElementById('where');
    const wf = s && s.workflow ? s.workflow.name : '';
    fill(where,
      wf ? h('span', { class: 'where-wf', title: s.workflow.file || '' }, `workflow ${wf}`) : null,
      s && s.repository ? h('span', { class: 'where-repo' }, String(s.repository)) : null,
      s && s.watching ? h('span', { class: 'badge st-running' }, 'watching') : null,
      s && s.version ? h('span', { class: 'muted' }, `v${s.version}`) : null);
  } catch {
    // The pages say what failed; the top bar stays empty.
  }
}

// ---------------------------------------------------------------------------------------------
// The overview: budget, task board, runs.

const COLUMNS = [['blocked', 'Blocked'], ['ready', 'Ready'], ['in_progress', 'In progress'], ['done', 'Done']];
const STATUSES = ['pending', 'running', 'paused', 'interrupted', 'succeeded', 'failed', 'cancelled', 'needs_attention'];

function overviewPage() {
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

  add(app,
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

/** The budget panel: the day's spend and what is left; the run's limit (and spend, on a run page). */
function renderBudget(box, b, runSpend) {
  const rows = [];
  if (runSpend) {
    rows.push(h('div', { class: 'budget-row' }, h('span', {}, 'This run'),
      h('strong', {}, costText(runSpend)),
      b && b.run_usd !== null && b.run_usd !== undefined ? h('span', { class: 'muted' }, `of ${money(b.run_usd)}`)
        : h('span', { class: 'muted' }, b && b.run_usd === null ? 'no run limit' : '')));
    if (b && b.run_usd && runSpend.cost_usd) {
      rows.push(h('progress', { max: Number(b.run_usd), value: Math.min(Number(runSpend.cost_usd), Number(b.run_usd)) }));
    }
  } else if (b) {
    rows.push(h('div', { class: 'budget-row' }, h('span', {}, 'Each run'),
      h('strong', {}, b.run_usd === null || b.run_usd === undefined ? 'no limit' : `up to ${money(b.run_usd)}`)));
  }
  if (b) {
    const spent = Number(b.day_spent_usd) || 0;
    rows.push(h('div', { class: 'budget-row' }, h('span', {}, 'Spent today'),
      h('strong', {}, b.day_unknown ? `${money(spent)}+?` : money(spent))));
    if (b.day_usd === null || b.day_usd === undefined) {
      rows.push(h('div', { class: 'budget-row' }, h('span', {}, 'Left today'), h('strong', {}, 'no daily limit')));
    } else {
      rows.push(h('progress', { max: Number(b.day_usd), value: Math.min(spent, Number(b.day_usd)) }));
      rows.push(h('div', { class: 'budget-row' }, h('span', {}, 'Left today'),
        h('strong', {}, money(b.day_left_usd ?? Math.max(0, b.day_usd - spent))),
        h('span', { class: 'muted' }, `of ${money(b.day_usd)}`)));
    }
    if (b.day_unknown) rows.push(h('p', { class: 'note' }, 'Some agent sessions today have an unknown cost: the spend shown is what is known.'));
  }
  fill(box, h('h2', {}, 'Budget', b && b.day ? h('span', { class: 'muted day' }, String(b.day)) : null), rows);
}

// ---------------------------------------------------------------------------------------------
// The run page.

const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'needs_attention']);

function runPage(id) {
  const base = `/api/runs/${encodeURIComponent(id)}`;
  let doc = null;
  let status = '';
  let es = null;
  let budget = null;
  let diffLoaded = false;
  let logFilter = '';
  const pending = [];
  let flushQueued = false;
  let budgetTimer = null;

  // Header and facts.
  const statusSlot = h('span', { testid: 'run-status', class: 'run-status' }, statusBadge('loading'));
  const title = h('span', { class: 'run-title' });
  const facts = h('div', { class: 'facts' });
  const budgetBox = h('section', { class: 'panel budget', testid: 'budget' }, h('h2', {}, 'Budget'));

  // Controls.
  const approvalText = h('span', { class: 'approval-text' });
  const reason = h('input', { type: 'text', testid: 'reason', placeholder: 'Reason (required to reject)', 'aria-label': 'reason', autocomplete: 'off' });
  const approve = h('button', { type: 'button', class: 'ok', testid: 'approve', onclick: () => answer(true) }, 'Approve');
  const reject = h('button', { type: 'button', class: 'danger', testid: 'reject', onclick: () => answer(false) }, 'Reject');
  const approval = h('div', { class: 'approval', hidden: true }, approvalText, reason, approve, reject);
  const cancel = h('button', { type: 'button', class: 'danger', testid: 'cancel', onclick: cancelRun }, 'Cancel');
  const pause = h('button', { type: 'button', testid: 'pause', onclick: (ev) => control('Pause', 'pause', {}, ev.currentTarget) }, 'Pause');
  const unpause = h('button', { type: 'button', testid: 'unpause', onclick: (ev) => control('Unpause', 'unpause', {}, ev.currentTarget) }, 'Unpause');
  const resume = h('button', { type: 'button', testid: 'resume', title: 'go on from the last stored transition (the process driving it stopped)', onclick: (ev) => control('Resume', 'resume', {}, ev.currentTarget) }, 'Resume');
  const retryFrom = h('select', { testid: 'retry-from', 'aria-label': 'retry from stage' });
  const retry = h('button', { type: 'button', testid: 'retry', onclick: retryRun }, 'Retry');

  // Stages and tabs.
  const graph = h('div', { class: 'graph', testid: 'stages' });
  const stageEls = new Map();
  const logPane = h('div', { class: 'log', testid: 'log', tabindex: '0' });
  const logStage = h('select', { 'aria-label': 'show the log of', onchange: () => { logFilter = logStage.value; applyLogFilter(); } }, h('option', { value: '' }, 'all stages'));
  const logCount = h('span', { class: 'muted' });
  const diffPane = h('pre', { class: 'diff', testid: 'diff' }, 'loading…');
  const diffHead = h('div', { class: 'muted' });
  const transcriptList = h('ul', { class: 'transcripts' });
  const transcriptView = h('pre', { class: 'transcript', testid: 'transcript' });
  const panes = {
    log: h('div', { class: 'pane' }, h('div', { class: 'pane-bar' }, logStage, logCount), logPane),
    diff: h('div', { class: 'pane', hidden: true }, h('div', { class: 'pane-bar' }, diffHead,
      h('button', { type: 'button', class: 'small', onclick: loadDiff }, 'Reload')), diffPane),
    transcripts: h('div', { class: 'pane', hidden: true }, h('div', { class: 'split' }, transcriptList, transcriptView)),
  };
  const tabs = {
    log: h('button', { type: 'button', role: 'tab', testid: 'tab-log', onclick: () => show('log') }, 'Log'),
    diff: h('button', { type: 'button', role: 'tab', testid: 'tab-diff', onclick: () => show('diff') }, 'Diff'),
    transcripts: h('button', { type: 'button', role: 'tab', testid: 'tab-transcripts', onclick: () => show('transcripts') }, 'Transcripts'),
  };

  add(app,
    h('div', { class: 'run-page' },
      h('div', { class: 'main-col' },
        h('section', { class: 'panel' },
          h('div', { class: 'run-head' }, h('h1', {}, h('span', { class: 'muted' }, 'Run '), h('span', { class: 'mono' }, id)), statusSlot),
          title, facts,
          approval,
          h('div', { class: 'controls' }, cancel, pause, unpause, resume, h('span', { class: 'sep' }),
            h('label', {}, 'from ', retryFrom), retry)),
        h('section', { class: 'panel' }, h('h2', {}, 'Stages'), graph),
        h('section', { class: 'panel' },
          h('div', { class: 'tabs', role: 'tablist' }, Object.values(tabs)),
          Object.values(panes))),
      h('aside', { class: 'side-col' }, budgetBox)));
  show('log');

  function show(name) {
    for (const [key, pane] of Object.entries(panes)) {
      pane.hidden = key !== name;
      tabs[key].setAttribute('aria-selected', String(key === name));
      tabs[key].classList.toggle('active', key === name);
    }
    if (name === 'diff' && !diffLoaded) loadDiff();
    if (name === 'transcripts') loadTranscripts();
  }

  // --- the run document

  function setStatus(s) {
    status = String(s || '');
    fill(statusSlot, statusBadge(status));
    updateControls();
  }

  function render(d) {
    doc = d;
    const meta = d.meta || {};
    const state = d.state || {};
    const task = state.task || {};
    fill(title, task.id ? h('span', { class: 'task-id' }, String(task.id)) : null, ' ', task.title || '');
    const runSpend = sumSpend(Object.values(state.stages || {}).flatMap((s) => (s.history || []).map((a) => a.spend)));
    const took = state.started_at_ms ? (state.finished_at_ms || Date.now()) - state.started_at_ms : null;
    fill(facts,
      fact('Branch', meta.branch, 'mono'),
      fact('Base', meta.base_branch ? `${meta.base_branch} @ ${String(meta.base_commit || '').slice(0, 10)}` : null, 'mono'),
      fact('Workflow', meta.workflow_name),
      fact('Created', meta.created_at_ms ? when(meta.created_at_ms) : null),
      fact('Duration', took === null ? null : duration(took)),
      fact('Cost', costText(runSpend)),
      state.paused_at_ms ? fact('Paused since', when(state.paused_at_ms)) : null,
      state.status && state.status.message ? fact('Failure', `${state.status.stage || ''}: ${state.status.message}`) : null,
      state.status && state.status.reason ? fact('Reason', `${state.status.stage ? `${state.status.stage}: ` : ''}${state.status.reason}`) : null);
    renderGraph(d);
    renderRetryChoices(d);
    // The run limit is the served workflow's: shown only for its runs.
    const sameWorkflow = !servedWorkflow || !meta.workflow_name || servedWorkflow === meta.workflow_name;
    renderBudget(budgetBox, budget && !sameWorkflow ? { ...budget, run_usd: undefined } : budget, runSpend);
    setStatus(d.status || tagName(state.status, 'status'));
  }

  function fact(name, value, cls) {
    if (value === null || value === undefined || value === '') return null;
    return h('div', { class: 'fact' }, h('div', { class: 'fact-name' }, name), h('div', { class: `fact-value ${cls || ''}` }, String(value)));
  }

  /** The stages in pipeline order: `doc.stages`, else the state's map (already ordered). */
  function stageList(d) {
    if (Array.isArray(d.stages)) return d.stages;
    return Object.entries((d.state && d.state.stages) || {}).map(([sid, s]) => ({
      id: sid, phase: s.phase,
      attempts: (s.history || []).map((a) => ({ attempt: a.attempt, outcome: a.outcome, started_at_ms: a.started_at_ms, finished_at_ms: a.ended_at_ms })),
    }));
  }

  function waiting(d) {
    const states = (d.state && d.state.stages) || {};
    return stageList(d).filter((s) => s.awaiting_approval === true
      || tagName(s.phase, 'phase') === 'awaiting_approval'
      || tagName(states[s.id] && states[s.id].phase, 'phase') === 'awaiting_approval').map((s) => String(s.id));
  }

  /** A stage's node: one element per stage id for the page's life, refilled. */
  function stageNode(sid, cls, title, ...children) {
    let node = stageEls.get(sid);
    if (!node) {
      node = h('div', { testid: `stage-${sid}` });
      stageEls.set(sid, node);
    }
    node.className = cls;
    node.title = title;
    return fill(node, children);
  }

  function renderGraph(d) {
    const states = (d.state && d.state.stages) || {};
    const list = stageList(d);
    const nodes = list.map((s) => {
      const sid = String(s.id);
      const st = states[sid] || {};
      // The state's tagged phase first; the list's `phase` is its name.
      const phase = tagName(st.phase, 'phase') || tagName(s.phase, 'phase') || 'pending';
      const history = st.history || [];
      const attempts = (s.attempts || []).map((a) => {
        let outcome = tagName(a.outcome, 'outcome') || 'running';
        if (outcome === 'running' && phase === 'awaiting_approval') outcome = 'waiting';
        const rec = history.find((r) => r.attempt === a.attempt) || {};
        const failure = (a.outcome && a.outcome.failure) || (rec.outcome && rec.outcome.failure);
        const end = a.finished_at_ms ?? a.ended_at_ms ?? rec.ended_at_ms;
        const took = a.started_at_ms ? duration((end || Date.now()) - a.started_at_ms) : '';
        const why = failure ? failure.message : (rec.outcome && (rec.outcome.summary || rec.outcome.reason)) || '';
        return h('li', { class: `attempt out-${token(outcome)}`, title: why || outcome },
          h('span', { class: 'att-n' }, `#${a.attempt}`), ' ', outcome.replace(/_/g, ' '),
          took ? h('span', { class: 'muted' }, ` · ${took}`) : null);
      });
      return stageNode(sid, `stage ph-${token(phase)}`, '',
        h('div', { class: 'stage-id' }, sid),
        h('div', { class: 'stage-phase' }, phase.replace(/_/g, ' ')),
        attempts.length ? h('ol', { class: 'attempts' }, attempts) : null);
    });
    const finallyMap = (d.state && d.state.finally) || {};
    const known = new Set(list.map((s) => String(s.id)));
    const extra = Object.entries(finallyMap).filter(([sid]) => !known.has(sid)).map(([sid, rec]) => {
      const outcome = tagName(rec && rec.outcome, 'outcome') || 'done';
      const why = rec && rec.outcome ? rec.outcome.message || rec.outcome.reason || rec.outcome.summary || '' : '';
      return stageNode(sid, `stage finally ph-${token(outcome)}`, why,
        h('div', { class: 'stage-id' }, sid), h('div', { class: 'stage-phase' }, `finally: ${outcome}`));
    });
    const children = [];
    nodes.forEach((n, i) => { if (i) children.push(h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→')); children.push(n); });
    if (extra.length) children.push(h('span', { class: 'arrow', 'aria-hidden': 'true' }, '⋯'), extra);
    fill(graph, children.length ? children : h('p', { class: 'muted' }, 'No stages yet.'));
    // The log's stage filter follows the stage list.
    const ids = [...list.map((s) => String(s.id)), ...Object.keys(finallyMap).filter((k) => !known.has(k))];
    if (ids.join('\n') !== [...logStage.options].slice(1).map((o) => o.value).join('\n')) {
      fill(logStage, h('option', { value: '' }, 'all stages'), ids.map((sid) => h('option', { value: sid }, sid)));
      logStage.value = ids.includes(logFilter) ? logFilter : '';
    }
  }

  function renderRetryChoices(d) {
    const ids = stageList(d).map((s) => String(s.id));
    const now = [...retryFrom.options].slice(1).map((o) => o.value);
    if (ids.join('\n') === now.join('\n')) return;
    const chosen = retryFrom.value;
    fill(retryFrom, h('option', { value: '' }, 'where it stopped'), ids.map((sid) => h('option', { value: sid }, sid)));
    retryFrom.value = ids.includes(chosen) ? chosen : '';
  }

  function updateControls() {
    const ended = ENDED.has(status);
    const paused = status === 'paused' || Boolean(doc && doc.state && doc.state.paused_at_ms);
    cancel.disabled = ended;
    pause.disabled = ended || paused;
    unpause.disabled = ended || !paused;
    resume.disabled = status !== 'interrupted';
    retry.disabled = ['running', 'pending', 'paused', 'loading', ''].includes(status) || status === 'succeeded';
    const stages = doc && !ended ? waiting(doc) : [];
    approval.hidden = stages.length === 0;
    approvalText.textContent = stages.length ? `${stages.join(', ')} waits for approval` : '';
  }

  // --- actions

  async function control(label, path, body, button) {
    const res = await act(label, `${base}/${path}`, body, button);
    if (res) refresh();
    return res;
  }

  async function answer(approved) {
    const text = reason.value.trim();
    if (!approved && !text) {
      flash('error', 'Reject needs a reason.');
      reason.focus();
      return;
    }
    const res = await control(approved ? 'Approve' : 'Reject', approved ? 'approve' : 'reject', text || !approved ? { reason: text } : {}, approved ? approve : reject);
    if (res) reason.value = '';
  }

  function cancelRun() {
    // A native confirm: the run's agent is stopped and `finally:` stages run.
    if (!window.confirm(`Cancel run ${id}? Its agent is stopped and its finally: stages run.`)) return;
    const text = reason.value.trim();
    control('Cancel', 'cancel', text ? { reason: text } : {}, cancel);
  }

  async function retryRun() {
    const from = retryFrom.value;
    const res = await control(from ? `Retry from ${from}` : 'Retry', 'retry', from ? { from } : {}, retry);
    if (res) connect();
  }

  async function refresh() {
    try { render(await getJSON(base)); } catch { /* the stream keeps the page current */ }
  }

  // --- diff and transcripts

  async function loadDiff() {
    diffLoaded = true;
    try {
      const d = await getJSON(`${base}/diff`);
      fill(diffHead, d.branch ? `${d.branch} against ${String(d.base || '?').slice(0, 12)}` : '');
      const lines = String(d.diff || '').split('\n');
      if (!d.diff) { fill(diffPane, h('span', { class: 'muted' }, 'No changes on the run branch.')); return; }
      const frag = document.createDocumentFragment();
      for (const line of lines) {
        let cls = '';
        if (line.startsWith('+++') || line.startsWith('---')) cls = 'd-file';
        else if (line.startsWith('+')) cls = 'd-add';
        else if (line.startsWith('-')) cls = 'd-del';
        else if (line.startsWith('@@')) cls = 'd-hunk';
        else if (/^(diff |index |new file|deleted file|similarity|rename )/.test(line)) cls = 'd-meta';
        frag.append(cls ? h('span', { class: cls }, line) : document.createTextNode(line), '\n');
      }
      fill(diffPane, frag);
    } catch (e) {
      diffLoaded = false;
      fill(diffPane, h('span', { class: 'error' }, `The diff could not be read: ${e.message}`));
    }
  }

  async function loadTranscripts() {
    try {
      const list = await getJSON(`${base}/transcripts`);
      const items = Array.isArray(list) ? list : (list && Array.isArray(list.transcripts) ? list.transcripts : []);
      fill(transcriptList, items.length ? items.map((t) => h('li', {},
        h('button', { type: 'button', class: 'link', onclick: (ev) => openTranscript(t, ev.currentTarget) },
          `${t.stage} #${t.attempt} · session ${t.n}`, h('span', { class: 'muted' }, ` (${bytes(t.bytes)})`)))) : h('li', { class: 'muted' }, 'No transcripts.'));
    } catch (e) {
      fill(transcriptList, h('li', { class: 'error' }, e.message));
    }
  }

  async function openTranscript(t, button) {
    for (const b of transcriptList.querySelectorAll('button')) b.classList.toggle('active', b === button);
    fill(transcriptView, 'loading…');
    const path = `${base}/transcripts/${encodeURIComponent(t.stage)}/${encodeURIComponent(t.attempt)}/${encodeURIComponent(t.n)}`;
    try {
      const text = await getText(path);
      fill(transcriptView, h('div', { class: 'muted' }, `${t.stage} #${t.attempt} · session ${t.n}`),
        text.split('\n').filter(Boolean).map(transcriptRecord));
    } catch (e) {
      fill(transcriptView, h('span', { class: 'error' }, e.message));
    }
  }

  /** One transcript record (`{"t", "stream", "line"}`, the line often JSON itself), as text. */
  function transcriptRecord(raw) {
    let record;
    try { record = JSON.parse(raw); } catch { return h('div', { class: 'tr-rec' }, raw); }
    if (!record || typeof record !== 'object' || typeof record.line !== 'string') {
      return h('div', { class: 'tr-rec' }, JSON.stringify(record, null, 2));
    }
    let body = record.line;
    try { body = JSON.stringify(JSON.parse(record.line), null, 2); } catch { /* plain text */ }
    return h('div', { class: `tr-rec tr-${token(record.stream)}` },
      h('div', { class: 'tr-head' }, `+${record.t ?? '?'}ms ${record.stream ?? ''}`), body);
  }

  // --- the log

  function atBottom() {
    return logPane.scrollHeight - logPane.scrollTop - logPane.clientHeight < 24;
  }

  function logLine(l) {
    const level = String(l.level || '');
    const node = h('div', { class: `log-line lvl-${token(level)}`, testid: 'log-line' },
      h('span', { class: 'log-where', title: `${l.stage}#${l.attempt}` }, `${l.stage}#${l.attempt}`),
      h('span', { class: 'log-level' }, level),
      h('span', { class: 'log-text' }, String(l.text ?? '')));
    node.dataset.stage = String(l.stage);
    if (logFilter && node.dataset.stage !== logFilter) node.hidden = true;
    return node;
  }

  function queueLog(l) {
    pending.push(l);
    if (flushQueued) return;
    flushQueued = true;
    requestAnimationFrame(flushLog);
  }

  function flushLog() {
    flushQueued = false;
    const follow = atBottom();
    const frag = document.createDocumentFragment();
    for (const l of pending.splice(0)) frag.append(logLine(l));
    logPane.append(frag);
    const excess = logPane.childElementCount - 20000;
    for (let i = 0; i < excess; i += 1) logPane.firstElementChild.remove();
    logCount.textContent = `${logPane.childElementCount} lines`;
    if (follow) logPane.scrollTop = logPane.scrollHeight;
  }

  function applyLogFilter() {
    for (const line of logPane.children) line.hidden = Boolean(logFilter) && line.dataset.stage !== logFilter;
    logPane.scrollTop = logPane.scrollHeight;
  }

  // --- live

  function connect() {
    if (es) es.close();
    es = stream(`${base}/events`, {
      // On (re)connect the server sends every line so far again.
      open: () => { pending.length = 0; logPane.replaceChildren(); },
      state: (d) => {
        render(d);
        clearTimeout(budgetTimer);
        budgetTimer = setTimeout(loadBudget, 1000);
      },
      log: (l) => queueLog(l),
      end: (e) => {
        es.close();
        liveDot.className = 'live live-done';
        liveDot.textContent = 'ended';
        if (e && e.status) setStatus(e.status);
        refresh();
      },
    });
  }

  async function loadBudget() {
    try { budget = await getJSON('/api/budget'); } catch { budget = null; }
    if (doc) render(doc);
  }

  // Running durations move on between transitions.
  const ticker = setInterval(() => { if (doc && !ENDED.has(status)) render(doc); }, 5000);
  loadWhere();
  getJSON(base).then(render, (e) => {
    setStatus('unknown');
    fill(graph, h('p', { class: 'error' }, `Run ${id}: ${e.message}`));
  });
  loadBudget();
  connect();

  return {
    dispose() {
      if (es) es.close();
      clearInterval(ticker);
      clearTimeout(budgetTimer);
    },
  };
}

function bytes(n) {
  const v = Number(n) || 0;
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

window.addEventListener('hashchange', route);
route();
