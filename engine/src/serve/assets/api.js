// Talking to `engine serve` (docs/http-api.md) and showing how it went: JSON requests, actions
// whose result goes to the flash area, live streams (SSE) whose health the top bar shows, and
// the top bar's "where" (the served workflow and repository).

import { fill, h, runHref } from './dom.js';

/** The flash area: the result of the last action. */
export const flashBox = document.getElementById('flash');
/** The top bar's live-updates indicator. */
export const liveDot = document.getElementById('live');

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

export async function getJSON(path) {
  return (await request(path, { headers: { Accept: 'application/json' } })).body;
}

export async function getText(path) {
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
export async function act(label, path, body, button) {
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

export function flash(kind, message, output, runId) {
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
export function stream(path, handlers) {
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

/** The workflow `engine serve` serves (its budget is the one /api/budget gives). */
export let servedWorkflow = null;

/** Fills the top bar from /api/status (and learns `servedWorkflow`). */
export async function loadWhere() {
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
