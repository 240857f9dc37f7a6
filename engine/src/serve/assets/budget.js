// The budget panel, on the overview and on a run page.

import { costText, fill, h, money } from './dom.js';

/** The budget panel: the day's spend and what is left; the run's limit (and spend, on a run page). */
export function renderBudget(box, b, runSpend) {
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
