"""The dashboard in a real browser: the task board's columns, a run started from a card that
streams its agent's output live, and cards moving from Ready to Done as their runs merge."""

from __future__ import annotations

from harness import EXECUTE, MERGE_AFTER, Agent, Repo, git, wait_until, wait_for_step
from pages import (click, column_of, log_lines, open_board, open_run, run_status, shot,
                   text_of, wait_column, wait_log_line, wait_run_status, wait_testid)

# Says a first line, then waits for the test's go before saying the second and finishing.
LIVE = ("- - say: \"first line from the agent\"\n"
        + wait_for_step("go")
        + "  - say: \"second line, after the go\"\n"
        "  - append: {path: notes.txt, content: \"notes\\n\"}\n"
        "  - say: \"Done. <promise>COMPLETE</promise>\"\n")


def test_a_run_started_from_a_card_streams_its_agent_output_live(tmp_path, serve, browser):
    agent = Agent(tmp_path / "agent", LIVE)
    repo = Repo(tmp_path / "repo")
    repo.workflow(agent, EXECUTE)
    server = serve(repo)

    open_board(browser, server)
    # The board: TASK-1 is ready, TASK-2 waits for it, TASK-3 is done.
    wait_column(browser, "TASK-1", "ready", server)
    assert column_of(browser, "TASK-2") == "blocked"
    assert column_of(browser, "TASK-3") == "done"
    assert text_of(browser, "budget").strip(), "the budget is not shown"
    shot(browser, "board")

    click(browser, "run-task-TASK-1", server)
    runs = wait_until(server.runs, "the run started from the page to be recorded",
                      diagnostics=server.diagnostics)
    assert len(runs) == 1, runs
    run_id = runs[0]["run_id"]
    assert runs[0]["task_id"] == "TASK-1", runs[0]

    open_run(browser, server, run_id)
    wait_log_line(browser, "first line from the agent", server)
    # The agent cannot finish before the test's go, so this line was streamed while it runs.
    assert "running" in run_status(browser), run_status(browser)
    assert server.run_status(run_id) == "running"
    assert not any("second line" in line for line in log_lines(browser))
    shot(browser, "run-live")

    agent.go()
    wait_log_line(browser, "second line, after the go", server)
    wait_run_status(browser, "succeeded", server)
    assert server.run_status(run_id) == "succeeded"
    wait_testid(browser, "stage-execute", server)
    shot(browser, "run-succeeded")


# Every session: waits for the go, then appends a line to notes.txt (each run changes it).
APPEND = (wait_for_step("go").replace("  - run:", "- - run:", 1)
          + "  - append: {path: notes.txt, content: \"one more line\\n\"}\n"
          "  - say: \"Appended. <promise>COMPLETE</promise>\"\n")


def test_c_cards_move_from_ready_to_done_when_their_runs_merge(tmp_path, serve, browser):
    agent = Agent(tmp_path / "agent", APPEND)
    repo = Repo(tmp_path / "repo")
    repo.workflow(agent, EXECUTE + MERGE_AFTER.format(after="execute"))
    server = serve(repo)

    open_board(browser, server)
    wait_column(browser, "TASK-1", "ready", server)
    wait_column(browser, "TASK-2", "blocked", server)

    # Run all ready tasks: TASK-1 now, TASK-2 once TASK-1 is done.
    click(browser, "run-all", server)
    wait_until(agent.file("go.started").exists, "the agent to wait for the go",
               diagnostics=server.diagnostics)
    wait_column(browser, "TASK-1", "in_progress", server)
    shot(browser, "board-in-progress")
    agent.go()

    wait_column(browser, "TASK-1", "done", server)
    wait_column(browser, "TASK-2", "done", server)
    shot(browser, "board-done")

    # The runs merged, and the source says so.
    runs = server.runs()
    assert sorted(r["task_id"] for r in runs) == ["TASK-1", "TASK-2"], runs
    assert all(r["status"] == "succeeded" for r in runs), runs
    tasks = repo.read("spec/tasks.md")
    assert "### TASK-1: Write the greeting notes\nP1 | DONE\n" in tasks, tasks
    assert "### TASK-2: Extend the greeting notes\nP2 | DONE\n" in tasks, tasks
    assert git(repo.path, "show", "main:notes.txt") == "one more line\none more line\n"

    # The first run's diff, on its page.
    first = next(r for r in runs if r["task_id"] == "TASK-1")
    open_run(browser, server, first["run_id"])
    wait_run_status(browser, "succeeded", server)
    click(browser, "tab-diff", server)
    wait_testid(browser, "diff", server)
    wait_until(lambda: "notes.txt" in text_of(browser, "diff")
               and "one more line" in text_of(browser, "diff"),
               "the diff tab to show notes.txt", diagnostics=server.diagnostics)
    shot(browser, "diff")
    click(browser, "tab-transcripts", server)
    shot(browser, "transcripts")
