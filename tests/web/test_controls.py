"""The run controls in a real browser: a task typed on the board, an approval answered on the
run page that lets the run go on to its merge, cancel stopping the agent, and pause, unpause and
retry from a chosen stage."""

from __future__ import annotations

from selenium.webdriver.support.select import Select

from harness import EXECUTE, MERGE_AFTER, Agent, Repo, git, wait_for_step, wait_until
from pages import (click, open_board, open_run, run_status, shot, text_of, wait_column,
                   wait_log_line, wait_run_status, wait_testid)

QUICK = ("- - say: \"writing the release notes\"\n"
         "  - append: {path: notes.txt, content: \"released\\n\"}\n"
         "  - say: \"Done. <promise>COMPLETE</promise>\"\n")

APPROVAL = """  ship:
    uses: builtin:approval
    needs: [execute]
    with: { message: "Merge the release notes?" }
"""


def test_b_an_approval_answered_on_the_page_lets_the_run_go_on(tmp_path, serve, browser):
    agent = Agent(tmp_path / "agent", QUICK)
    repo = Repo(tmp_path / "repo")
    repo.workflow(agent, EXECUTE + APPROVAL + MERGE_AFTER.format(after="ship"))
    server = serve(repo)

    # A task typed on the board (not one of the source's).
    open_board(browser, server)
    wait_testid(browser, "new-task-text", server).send_keys("Write the release notes")
    click(browser, "new-task-submit", server)
    runs = wait_until(server.runs, "the typed task's run to be recorded",
                      diagnostics=server.diagnostics)
    assert len(runs) == 1, runs
    run_id = runs[0]["run_id"]
    assert runs[0]["task"] == "Write the release notes", runs[0]

    def waiting() -> bool:
        stages = {s["id"]: s for s in server.run(run_id)["stages"]}
        return stages["ship"]["awaiting_approval"]

    wait_until(waiting, "the ship stage to wait for approval", diagnostics=server.diagnostics)
    open_run(browser, server, run_id)
    wait_testid(browser, "stage-ship", server)
    wait_testid(browser, "approve", server)
    reason = wait_testid(browser, "reason", server)
    reason.send_keys("notes read, ship it")
    shot(browser, "approval")
    click(browser, "approve", server)

    wait_run_status(browser, "succeeded", server)
    doc = server.run(run_id)
    phases = {s["id"]: s["phase"] for s in doc["stages"]}
    assert phases == {"execute": "succeeded", "ship": "succeeded", "merge": "succeeded"}, doc
    ship = next(s for s in doc["stages"] if s["id"] == "ship")
    # The reason typed on the page is the approval's.
    assert "notes read, ship it" in (ship["summary"] or ""), ship
    assert git(repo.path, "show", "main:notes.txt") == "released\n"
    shot(browser, "approved")


# Says it works, announces itself, then waits for a file nobody creates.
FOREVER = ("- - say: \"working until stopped\"\n"
           + wait_for_step("never")
           + "  - say: \"Done. <promise>COMPLETE</promise>\"\n")


def test_d_cancel_on_the_page_stops_the_agent(tmp_path, serve, browser):
    agent = Agent(tmp_path / "agent", FOREVER)
    repo = Repo(tmp_path / "repo")
    repo.workflow(agent, EXECUTE + MERGE_AFTER.format(after="execute"))
    server = serve(repo)

    open_board(browser, server)
    wait_column(browser, "TASK-1", "ready", server)
    click(browser, "run-task-TASK-1", server)
    wait_until(agent.file("never.started").exists, "the agent to start working",
               diagnostics=server.diagnostics)
    assert agent.processes(), "no process of the agent is running"
    run_id = server.runs()[0]["run_id"]

    open_run(browser, server, run_id)
    wait_log_line(browser, "working until stopped", server)
    click(browser, "cancel", server)
    wait_run_status(browser, "cancelled", server)
    shot(browser, "cancelled")

    doc = server.run(run_id)
    assert doc["status"] == "cancelled", doc
    execute = next(s for s in doc["stages"] if s["id"] == "execute")
    outcomes = [a["outcome"]["outcome"] for a in execute["attempts"]]
    assert outcomes == ["cancelled"], execute
    # The agent and the command it was running are gone (the kernel may take a moment to
    # reap them after the run recorded the cancel).
    wait_until(lambda: not agent.processes(),
               f"the agent's processes to be gone (left: {agent.processes()})",
               timeout=10, diagnostics=server.diagnostics)
    # The task went back to the ready column (written back as TODO).
    open_board(browser, server)
    wait_column(browser, "TASK-1", "ready", server)
    assert "### TASK-1: Write the greeting notes\nP1 | TODO\n" in repo.read("spec/tasks.md")


# Session 1 waits for the go; a later session (the retry) works at once.
TWO_SESSIONS = ("- - say: \"first session\"\n"
                + wait_for_step("go")
                + "  - append: {path: notes.txt, content: \"first\\n\"}\n"
                "  - say: \"Done. <promise>COMPLETE</promise>\"\n"
                "- - say: \"second session\"\n"
                "  - append: {path: notes.txt, content: \"second\\n\"}\n"
                "  - say: \"Done. <promise>COMPLETE</promise>\"\n")

# A gate that passes once the test has created `fixed` in the agent's scratch directory.
CHECK = """  check:
    uses: builtin:gate
    needs: [execute]
    with: {{ commands: ["sh -c 'test -e {scratch}/fixed'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    sandbox: {{ write: [{scratch}] }}
    retry: {{ max_attempts: 1 }}
"""


def test_f_pause_unpause_and_retry_from_a_stage_on_the_page(tmp_path, serve, browser):
    agent = Agent(tmp_path / "agent", TWO_SESSIONS)
    repo = Repo(tmp_path / "repo")
    repo.workflow(agent, EXECUTE + CHECK.format(scratch=agent.scratch))
    server = serve(repo)
    run_id = server.post("/api/runs", {"task": "TASK-1"})["run_id"]
    wait_until(agent.file("go.started").exists, "the agent to wait for the go",
               diagnostics=server.diagnostics)

    # Paused while the agent works: its attempt finishes, the next stage does not start.
    open_run(browser, server, run_id)
    click(browser, "pause", server)
    wait_run_status(browser, "paused", server)
    agent.go()

    def execute_ended() -> bool:
        stages = {s["id"]: s for s in server.run(run_id)["stages"]}
        attempts = stages["execute"]["attempts"]
        return bool(attempts) and attempts[-1]["outcome"]["outcome"] == "succeeded"

    wait_until(execute_ended, "execute to finish while paused", diagnostics=server.diagnostics)
    doc = server.run(run_id)
    assert doc["status"] == "paused", doc["status"]
    assert next(s for s in doc["stages"] if s["id"] == "check")["attempts"] == [], doc
    wait_until(lambda: "succeeded" in text_of(browser, "stage-execute"),
               "the page to show execute's attempt succeeded", diagnostics=server.diagnostics)
    assert "paused" in run_status(browser), run_status(browser)
    shot(browser, "paused")

    # Unpaused: the gate runs, and fails (nothing fixed yet).
    click(browser, "unpause", server)
    wait_run_status(browser, "failed", server)

    # Retry from execute, chosen in the list: both stages run again, and pass.
    agent.go("fixed")
    wait_testid(browser, "retry-from", server)
    wait_until(lambda: any(o.get_attribute("value") == "execute" for o in
                           Select(wait_testid(browser, "retry-from", server)).options),
               "execute in the retry-from list", diagnostics=server.diagnostics)
    Select(wait_testid(browser, "retry-from", server)).select_by_value("execute")
    click(browser, "retry", server)

    def retried() -> bool:
        stages = {s["id"]: s for s in server.run(run_id)["stages"]}
        return len(stages["execute"]["attempts"]) == 2

    # The page says "failed" until the retry is recorded.
    wait_until(retried, "the retry to start execute again", diagnostics=server.diagnostics)
    server.wait_status(run_id, "succeeded")
    wait_until(lambda: "succeeded" in run_status(browser), "the page to say succeeded",
               diagnostics=server.diagnostics)
    outcomes = {s["id"]: [a["outcome"]["outcome"] for a in s["attempts"]]
                for s in server.run(run_id)["stages"]}
    assert outcomes == {"execute": ["succeeded", "succeeded"],
                        "check": ["failed", "succeeded"]}, outcomes
    wait_log_line(browser, "second session", server)
    shot(browser, "retried")
