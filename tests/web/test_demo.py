"""The demo in the dashboard (what `scripts/demo.sh serve` shows): `engine serve
workflows/demo.yaml` in a copy of examples/demo-repo; Run on the GREET-1 card takes the task
through triage, execute, review (which asks for a test), test (whose new test catches a
regression) and merge, live on its run page; the card ends in Done, GREET-2 becomes ready, main has the change and the notifier in
`finally:` delivered to a receiver on loopback."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

from harness import ROOT, Server, git, wait_until
from pages import (click, column_of, open_board, open_run, shot, wait_column, wait_log_line,
                   wait_run_status, wait_testid)


class DemoRepo:
    """A scratch copy of examples/demo-repo, committed on main (as scripts/demo.sh makes it)."""

    def __init__(self, path: Path):
        self.path = path
        shutil.copytree(ROOT / "examples" / "demo-repo", path)
        git(path, "init", "-q", "-b", "main")
        git(path, "add", ".")
        git(path, "commit", "-q", "-m", "demo-repo")


class Receiver(http.server.BaseHTTPRequestHandler):
    """Counts the webhook deliveries it answers (200)."""

    deliveries: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        Receiver.deliveries.append(self.rfile.read(length))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002 - quiet
        pass


def test_the_demo_runs_from_its_card_to_the_merge_in_the_dashboard(tmp_path, browser,
                                                                    monkeypatch):
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    Receiver.deliveries = []
    monkeypatch.setenv("DEMO_WEBHOOK_URL", f"http://127.0.0.1:{receiver.server_port}/hook")
    repo = DemoRepo(tmp_path / "demo")
    server = Server(repo, str(ROOT / "workflows" / "demo.yaml"))
    try:
        open_board(browser, server)
        wait_column(browser, "GREET-1", "ready", server)
        assert column_of(browser, "GREET-2") == "blocked"
        shot(browser, "demo-board")

        click(browser, "run-task-GREET-1", server)
        runs = wait_until(server.runs, "the demo run to be recorded",
                          diagnostics=server.diagnostics)
        run_id = runs[0]["run_id"]
        open_run(browser, server, run_id)
        wait_log_line(browser, "Reading greet.sh", server)
        wait_run_status(browser, "succeeded", server)
        for stage in ("triage", "execute", "review", "test", "merge"):
            wait_testid(browser, f"stage-{stage}", server)
        # Review asked for a test, the new test caught a regression, the agent fixed it: every
        # attempt of the loop is on the page.
        run = server.run(run_id)
        attempts = {s["id"]: len(s["attempts"]) for s in run["stages"]}
        assert attempts == {"triage": 1, "execute": 3, "review": 3, "test": 2, "merge": 1}, \
            attempts
        shot(browser, "demo-run")

        open_board(browser, server)
        wait_column(browser, "GREET-1", "done", server)
        wait_column(browser, "GREET-2", "ready", server)
        shot(browser, "demo-board-done")
        assert "--shout" in git(repo.path, "show", "main:greet.sh")
        wait_until(lambda: Receiver.deliveries, "the notifier's delivery",
                   diagnostics=server.diagnostics)
    finally:
        server.stop()
        receiver.shutdown()
