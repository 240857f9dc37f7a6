// Building the page: the element builder and the formatting of statuses, costs, durations and
// times.
//
// Every piece of text from the API (task titles, agent output, log lines, stage ids...) is
// hostile input: it reaches the page only as text nodes (textContent, createTextNode) or
// attribute values, never as HTML. Links are built from `#/runs/` plus an encoded id, never from
// data alone. No inline handlers or styles (the server sends a strict Content-Security-Policy).

/** Creates an element: `props` sets class, data-testid, event listeners (`on...`), DOM
 *  properties (value, disabled...) or attributes; children are nodes or text. */
export function h(tag, props = {}, ...children) {
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
export function add(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces an element's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  return add(node, children);
}

/** The page of one run. */
export function runHref(id) {
  return `#/runs/${encodeURIComponent(id)}`;
}

/** A class-name-safe token from API data (letters, digits, `_`). */
export function token(value) {
  return String(value ?? '').toLowerCase().replace(/[^a-z0-9_]/g, '');
}

/** The name of a serde-tagged value: `"running"` or `{"phase": "running", ...}`. */
export function tagName(value, key) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return typeof value[key] === 'string' ? value[key] : '';
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function money(usd) {
  return `$${Number(usd).toFixed(2)}`;
}

/** A spend as `engine runs` shows it: unknown cost is "unknown", never "$0". */
export function costText(spend) {
  if (!spend) return 'unknown';
  const approx = spend.cost_estimated ? '~' : '';
  const cost = Number(spend.cost_usd) || 0;
  const zero = cost === 0 && !spend.input_tokens && !spend.output_tokens
    && !spend.cache_read_tokens && !spend.cache_write_tokens;
  if (zero) return spend.cost_known ? '—' : 'unknown';
  if (!spend.cost_known && cost === 0) return 'unknown';
  return spend.cost_known ? `${approx}${money(cost)}` : `${approx}${money(cost)}+?`;
}

export function sumSpend(spends) {
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

export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms))) return '—';
  const s = Math.max(0, Math.round(Number(ms) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function when(value) {
  if (value === null || value === undefined || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} `
    + `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function bytes(n) {
  const v = Number(n) || 0;
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

export function statusBadge(status, testid) {
  const name = String(status || 'unknown');
  return h('span', { class: `badge st-${token(name)}`, testid }, name.replace(/_/g, ' '));
}
