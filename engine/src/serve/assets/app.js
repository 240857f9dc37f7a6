// The engine dashboard: a few ES modules, no dependencies, no build step. This one routes:
// `#/` the board and runs (board.js), `#/runs/{id}` one run (run.js).
//
// Everything the pages show comes from the JSON API and the SSE streams of `engine serve`
// (docs/http-api.md, api.js), and reaches the page only as text nodes or attribute values
// (dom.js): never as HTML.

import { flashBox, liveDot } from './api.js';
import { overviewPage } from './board.js';
import { runPage } from './run.js';

const app = document.getElementById('app');

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
  page = id ? runPage(app, id) : overviewPage(app);
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);
route();
