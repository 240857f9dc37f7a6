"""Unit-testing a stage with plain ``python3``, without the engine::

    from engine_stage.testing import FakeHost, reply, run_stage

    def git(command):                      # answers every exec.run() of the stage
        return reply(command, stdout="CHANGELOG.md\\n")

    with FakeHost(exec=git) as host:
        result = run_stage(ChangelogCheck, config={"file": "CHANGELOG.md"})
    assert result.summary == "CHANGELOG.md changed"
    assert host.commands[0].args[0] == "diff"

:func:`run_stage` goes through the same steps as the engine's call (config checked against
``config_class``, exceptions turned into failures) and returns the :class:`Success` or the
:class:`StageError`; nothing is raised.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import _host
from .exec import Command, Output
from .outcome import StageError, Success
from .stage import build_config, call_run
from .types import WORKSPACE, Context, Failure, Feedback, IdempotencyKeys, RunGit, Task


def reply(
    command: Command, stdout: str = "", stderr: str = "", exit_code: Optional[int] = 0
) -> Output:
    """An :class:`Output` for ``command``, as the host would return it."""
    return Output(
        command=command,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        stdout_bytes=len(stdout.encode()),
        stderr_bytes=len(stderr.encode()),
    )


class FakeHost:
    """Stands in for the engine while it is active (``with FakeHost(...) as host:``): records
    log lines, progress and the commands run, and answers ``exec.run`` with ``exec`` (a
    function of the :class:`Command` returning an :class:`Output`, e.g. with :func:`reply`, or
    raising an :class:`engine_stage.exec.ExecError`) and ``agent.start`` with ``agent``."""

    def __init__(
        self,
        exec: Optional[Callable[[Command], Output]] = None,
        agent: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        #: ``(level, message)`` of every log line.
        self.logs: List[Tuple[str, str]] = []
        #: ``(message, fraction)`` of every progress report.
        self.progress_reports: List[Tuple[str, Optional[float]]] = []
        #: Every command ``exec.run`` sent, in order.
        self.commands: List[Command] = []
        #: Every agent session request, in order.
        self.agent_requests: List[Any] = []
        self._exec = exec
        self._agent = agent
        self._previous: Optional[Any] = None

    def log(self, level: str, message: str) -> None:
        """Records a log line."""
        self.logs.append((level, message))

    def progress(self, message: str, fraction: Optional[float]) -> None:
        """Records a progress report."""
        self.progress_reports.append((message, fraction))

    def exec(self, command: Command) -> Output:
        """Records ``command`` and answers it."""
        self.commands.append(command)
        if self._exec is None:
            raise AssertionError(f"the stage ran {command.text()!r} but this FakeHost has no exec=")
        return self._exec(command)

    def agent_start(self, request: Any) -> Any:
        """Records the request and answers it."""
        self.agent_requests.append(request)
        if self._agent is None:
            raise AssertionError(
                "the stage started an agent session but this FakeHost has no agent="
            )
        return self._agent(request)

    def messages(self, level: Optional[str] = None) -> List[str]:
        """The logged messages (of one level, or all)."""
        return [m for lv, m in self.logs if level is None or lv == level]

    def __enter__(self) -> "FakeHost":
        self._previous = _host.install(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _host.install(self._previous)


def make_context(
    config: Any = None,
    *,
    task: Union[str, Task] = "a task",
    attempt: int = 1,
    outputs: Optional[Dict[str, Any]] = None,
    feedback: Optional[Feedback] = None,
    previous_failure: Optional[Failure] = None,
    interrupted: bool = False,
    workspace: Optional[str] = WORKSPACE,
    git: Optional[RunGit] = None,
    stage_id: str = "stage",
    run_id: str = "01TESTRUN",
) -> Context[Any]:
    """A :class:`Context` as the engine would send it; ``task`` may be a title. ``git``
    defaults to a run branch ``engine/t1-a-task`` from ``main`` at commit ``"0" * 40``."""
    if isinstance(task, str):
        task = Task(id="t1", title=task.splitlines()[0] if task else "", body=task)
    if git is None:
        git = RunGit(
            branch="engine/t1-a-task", base_branch="main", base_commit="0" * 40, repo_root="/repo"
        )
    return Context(
        run_id=run_id,
        stage_id=stage_id,
        attempt=attempt,
        keys=IdempotencyKeys(
            stage=f"{run_id}/{stage_id}", attempt=f"{run_id}/{stage_id}/{attempt}"
        ),
        task=task,
        config=config,
        outputs=dict(outputs or {}),
        feedback=feedback,
        interrupted=interrupted,
        workspace=workspace,
        previous_failure=previous_failure,
        git=git,
    )


def run_stage(stage_class: type, config: Any = None, **context: Any) -> Union[Success, StageError]:
    """Runs one attempt of ``stage_class`` the way the engine does, with ``config`` (the parsed
    ``with:``; ``None`` means none) and any :func:`make_context` keyword; returns the
    :class:`Success` or the :class:`StageError` (an uncaught exception is a ``Fatal``)."""
    ctx = make_context(config, **context)
    try:
        ctx.config = build_config(stage_class, ctx.config)
    except StageError as e:
        return e
    return call_run(stage_class, ctx)
