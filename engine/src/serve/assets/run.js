// The run page (`#/runs/{id}`): the run's header and facts, its controls (approve, reject,
// cancel, pause, unpause, resume, retry), its stages, its tabs and budget, kept live by the
// run's event stream.

import { act, flash, getJSON, liveDot, loadWhere, servedWorkflow, stream } from './api.js';
import { renderBudget } from './budget.js';
import { add, costText, duration, fill, h, statusBadge, sumSpend, tagName, when } from './dom.js';
import { stageGraph, stageList, waiting } from './stages.js';
import { runTabs } from './tabs.js';

const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'needs_attention']);

/** The page of run `id`, in `root`; `dispose()` stops its updates. */
export function runPage(root, id) {
  const base = `/api/runs/${encodeURIComponent(id)}`;
  let doc = null;
  let status = '';
  let es = null;
  let budget = null;
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
  const stages = stageGraph();
  const tabs = runTabs(base);

  add(root,
    h('div', { class: 'run-page' },
      h('div', { class: 'main-col' },
        h('section', { class: 'panel' },
          h('div', { class: 'run-head' }, h('h1', {}, h('span', { class: 'muted' }, 'Run '), h('span', { class: 'mono' }, id)), statusSlot),
          title, facts,
          approval,
          h('div', { class: 'controls' }, cancel, pause, unpause, resume, h('span', { class: 'sep' }),
            h('label', {}, 'from ', retryFrom), retry)),
        h('section', { class: 'panel' }, h('h2', {}, 'Stages'), stages.el),
        h('section', { class: 'panel' }, tabs.nodes)),
      h('aside', { class: 'side-col' }, budgetBox)));

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
    tabs.setStages(stages.render(d));
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
    const waits = doc && !ended ? waiting(doc) : [];
    approval.hidden = waits.length === 0;
    approvalText.textContent = waits.length ? `${waits.join(', ')} waits for approval` : '';
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

  // --- live

  function connect() {
    if (es) es.close();
    es = stream(`${base}/events`, {
      // On (re)connect the server sends every line so far again.
      open: () => tabs.clearLog(),
      state: (d) => {
        render(d);
        clearTimeout(budgetTimer);
        budgetTimer = setTimeout(loadBudget, 1000);
      },
      log: (l) => tabs.log(l),
      end: (e) => {
        es.close();
        liveDot.className = 'live live-done';
        liveDot.textContent = 'ended';
        if (e && e.status) setStatus(e.status);
        refresh();
        clearTimeout(budgetTimer);
        loadBudget();
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
    fill(stages.el, h('p', { class: 'error' }, `Run ${id}: ${e.message}`));
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
