"""Security from a browser: a page of another origin (a second HTTP server on loopback) tries
every way a page can send the engine's API a state-changing request, and none starts a run;
the same page, served by the engine's own origin, could (so the test can fail). Task titles and
agent output made of HTML are shown as text."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from harness import EXECUTE, Agent, ApiError, Repo, wait_until
from pages import click, find, open_board, open_run, shot, wait_log_line, wait_testid

# What a hostile page does: each attempt records how it settled; `#done` holds them all.
ATTACK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>hostile</title></head>
<body><h1>A page of another origin</h1><pre id="done" style="white-space: pre-wrap"></pre>
<script>
const engine = new URL(location.href).searchParams.get("engine");
const json = JSON.stringify({task: "TASK-1"});
const rpc = JSON.stringify({jsonrpc: "2.0", id: 1, method: "tools/call",
                            params: {name: "start_run", arguments: {task: "TASK-1"}}});
const attempts = {
  json_with_cors: () => fetch(engine + "/api/runs", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: json}),
  text_no_cors: () => fetch(engine + "/api/runs", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: json}),
  form_no_cors: () => fetch(engine + "/api/runs", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: json}),
  session_no_cors: () => fetch(engine + "/api/sessions", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: "{}"}),
  mcp_no_cors: () => fetch(engine + "/mcp", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: rpc}),
  read_status: () => fetch(engine + "/api/status").then(r => r.text()),
};
const results = {};
Promise.all(Object.entries(attempts).map(([name, attempt]) =>
  attempt().then(r => { results[name] = "settled " + (r.type ? r.type + " " + r.status : r); },
                 e => { results[name] = "refused " + e; })))
  .then(() => { document.getElementById("done").textContent = JSON.stringify(results, null, 1); });
</script></body></html>
"""


class _AttackHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = ATTACK_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    """A second HTTP server on 127.0.0.1 serving the hostile page; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AttackHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# A session that would finish at once, were a run ever started.
QUICK = "- - say: \"Done. <promise>COMPLETE</promise>\"\n"


def test_e_a_page_of_another_origin_cannot_start_a_run(tmp_path, serve, browser, attacker):
    agent = Agent(tmp_path / "agent", QUICK)
    repo = Repo(tmp_path / "repo")
    repo.workflow(agent, EXECUTE)
    server = serve(repo)
    tasks_before = repo.read("spec/tasks.md")

    # The same port on two host names: another origin on the same site (127.0.0.1) and another
    # site (localhost).
    for host in ("127.0.0.1", "localhost"):
        browser.get(f"http://{host}:{attacker}/attack?engine={server.url}")
        done = wait_until(lambda: browser.find_element("id", "done").text,
                          f"the hostile page on {host} to finish its attempts",
                          diagnostics=server.diagnostics)
        results = json.loads(done)
        shot(browser, f"hostile-page-{host}")
        # No CORS: the page can neither send JSON (the preflight fails) nor read an answer.
        assert results["json_with_cors"].startswith("refused"), results
        assert results["read_status"].startswith("refused"), results
        # The simple requests (no preflight) reached the server (an opaque answer came back),
        # which refused them: no run.
        for name in ("text_no_cors", "form_no_cors", "session_no_cors", "mcp_no_cors"):
            assert results[name].startswith("settled"), results
        assert server.runs() == [], (host, results, server.runs())

    # What such a browser sends, replayed: every one is refused with 403.
    origin = f"http://127.0.0.1:{attacker}"
    body = {"task": "TASK-1"}
    refused = [
        ("/api/runs", {"Origin": origin}, "application/json"),
        ("/api/runs", {"Origin": origin}, "text/plain"),
        ("/api/runs", {"Sec-Fetch-Site": "same-site"}, "application/json"),
        ("/api/runs", {"Sec-Fetch-Site": "cross-site"}, "application/json"),
        ("/api/runs", {}, "text/plain"),
        ("/api/sessions", {"Origin": origin}, "application/json"),
        ("/mcp", {"Origin": origin}, "application/json"),
    ]
    for path, headers, content_type in refused:
        with pytest.raises(ApiError) as err:
            server.request("POST", path, body, {**headers, "Content-Type": content_type})
        assert err.value.status == 403 or (content_type != "application/json"
                                           and err.value.status in (400, 415)), (
            path, headers, content_type, err.value)
    # DNS rebinding: a name that is not loopback in Host is refused, even for reading.
    port = urlsplit(server.url).port
    with pytest.raises(ApiError) as err:
        server.request("GET", "/api/status", headers={"Host": f"attacker.example:{port}"})
    assert err.value.status == 403, err.value
    assert server.runs() == []
    assert repo.read("spec/tasks.md") == tasks_before

    # The dashboard itself (same origin) can: the refusals above were about the origin.
    open_board(browser, server)
    assert find(browser, "run-task-TASK-1")
    answer = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/runs', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({task: 'TASK-1'})})"
        ".then(r => r.text().then(t => done([r.status, t])), e => done([0, String(e)]));")
    assert answer[0] == 202, answer
    run_id = json.loads(answer[1])["run_id"]
    server.wait_status(run_id, "succeeded")
    wait_testid(browser, f"run-row-{run_id}", server)


HOSTILE_TASKS = """# Tasks

### TASK-1: Greet <img src=x onerror="window.__pwned='title'"> <b id=injected>users</b>
P1 | TODO
"""

HOSTILE_AGENT = ("- - say: '<img src=x onerror=\"window.__pwned=''log''\"> "
                 "<b id=injected>bold</b>'\n"
                 "  - say: \"Done. <promise>COMPLETE</promise>\"\n")


def test_g_hostile_task_titles_and_agent_output_are_shown_as_text(tmp_path, serve, browser):
    agent = Agent(tmp_path / "agent", HOSTILE_AGENT)
    repo = Repo(tmp_path / "repo", tasks=HOSTILE_TASKS)
    repo.workflow(agent, EXECUTE)
    server = serve(repo)

    def injected() -> list[object]:
        return browser.execute_script(
            "return [window.__pwned || null, document.querySelectorAll('#injected').length,"
            " document.querySelectorAll('main img').length];")

    open_board(browser, server)
    card = wait_testid(browser, "card-TASK-1", server)
    assert "<img src=x" in card.text and "<b id=injected>" in card.text, card.text
    click(browser, "run-task-TASK-1", server)
    runs = wait_until(server.runs, "the run to be recorded", diagnostics=server.diagnostics)
    run_id = runs[0]["run_id"]
    server.wait_status(run_id, "succeeded")
    open_run(browser, server, run_id)
    wait_log_line(browser, "<b id=injected>bold</b>", server)
    wait_testid(browser, "run-status", server)
    shot(browser, "hostile-text")
    # The markup is text everywhere: no element was made of it, no handler ran.
    assert injected() == [None, 0, 0], injected()
    open_board(browser, server)
    wait_testid(browser, f"run-row-{run_id}", server)
    assert injected() == [None, 0, 0], injected()
