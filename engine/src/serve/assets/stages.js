// A run's stages: their order, which of them wait for approval, and the stage graph with each
// stage's attempts.

import { duration, fill, h, tagName, token } from './dom.js';

/** The stages in pipeline order: `doc.stages`, else the state's map (already ordered). */
export function stageList(d) {
  if (Array.isArray(d.stages)) return d.stages;
  return Object.entries((d.state && d.state.stages) || {}).map(([sid, s]) => ({
    id: sid, phase: s.phase,
    attempts: (s.history || []).map((a) => ({ attempt: a.attempt, outcome: a.outcome, started_at_ms: a.started_at_ms, finished_at_ms: a.ended_at_ms })),
  }));
}

/** The ids of the stages that wait for approval. */
export function waiting(d) {
  const states = (d.state && d.state.stages) || {};
  return stageList(d).filter((s) => s.awaiting_approval === true
    || tagName(s.phase, 'phase') === 'awaiting_approval'
    || tagName(states[s.id] && states[s.id].phase, 'phase') === 'awaiting_approval').map((s) => String(s.id));
}

/** The stage graph: `el`, and `render(doc)` that refills it and returns every stage id shown
 *  (the pipeline's, then the `finally:` stages'). */
export function stageGraph() {
  const graph = h('div', { class: 'graph', testid: 'stages' });
  const stageEls = new Map();

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

  function render(d) {
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
    return [...list.map((s) => String(s.id)), ...Object.keys(finallyMap).filter((k) => !known.has(k))];
  }

  return { el: graph, render };
}
