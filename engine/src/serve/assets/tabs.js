// The run page's tabs: the live log (filtered by stage, following the end), the run branch's
// diff, the agent sessions' transcripts.

import { getJSON, getText } from './api.js';
import { bytes, fill, h, token } from './dom.js';

/** The tabs of run `base` (its API path): `nodes` (the tab bar and the panes), `log(line)`
 *  (adds a line, batched per frame), `clearLog()`, `setStages(ids)` (the log's stage filter). */
export function runTabs(base) {
  let diffLoaded = false;
  let logFilter = '';
  const pending = [];
  let flushQueued = false;

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
  const nodes = [h('div', { class: 'tabs', role: 'tablist' }, Object.values(tabs)), Object.values(panes)];
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

  /** The log's stage filter follows the stage list. */
  function setStages(ids) {
    if (ids.join('\n') !== [...logStage.options].slice(1).map((o) => o.value).join('\n')) {
      fill(logStage, h('option', { value: '' }, 'all stages'), ids.map((sid) => h('option', { value: sid }, sid)));
      logStage.value = ids.includes(logFilter) ? logFilter : '';
    }
  }

  return {
    nodes,
    log: queueLog,
    clearLog() { pending.length = 0; logPane.replaceChildren(); },
    setStages,
  };
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
