"""The records a stage exchanges with the engine (``wit/stage.wit``, interface ``types``), as
Python dataclasses with snake_case fields.

WIT → Python: ``string`` is ``str``; ``u32``/``u64``/``s32`` are ``int``; ``bool`` is ``bool``;
``option<T>`` is ``T`` or ``None``; ``list<T>`` is ``list``; enums are :class:`enum.Enum`
members whose value is the WIT name (``WorkspaceAccess.READ.value == "read"``), and a plain
string with that name is accepted wherever an enum is expected. JSON the records carry as text
(``config``, ``outputs``, ``detail``, ``config-schema``) is parsed for you.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Generic, List, Optional, TypeVar, Union

#: Where the run's worktree is mounted inside the sandbox.
WORKSPACE = "/workspace"


class WorkspaceAccess(str, Enum):
    """WIT ``workspace-access``: how a stage may use the run's worktree (``/workspace``)."""

    #: Not mounted at all.
    NONE = "none"
    #: Mounted read-only.
    READ = "read"
    #: Mounted read-write.
    WRITE = "write"


class Delivery(str, Enum):
    """WIT ``delivery``: how often the stage's effects may happen."""

    #: The stage may run again after a crash (the default); use ``ctx.keys`` to make effects
    #: happen once.
    AT_LEAST_ONCE = "at-least-once"
    #: After an interrupted attempt the next one has ``ctx.interrupted`` set and must reconcile.
    AT_MOST_ONCE = "at-most-once"


def _enum(kind: Any, value: Any, what: str) -> Any:
    """``value`` as a member of ``kind``; a WIT name (``"read"``, ``"at_most_once"``) works too."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        wanted = value.strip().lower().replace("_", "-")
        for member in kind:
            if member.value == wanted:
                return member
    choices = ", ".join(repr(m.value) for m in kind)
    raise ValueError(f"{what} must be one of {choices} (or {kind.__name__}.X), not {value!r}")


def _names(value: Any, what: str) -> List[str]:
    """A list of strings from a list/tuple of strings (a lone string is refused: it is almost
    always a missing pair of brackets)."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{what} must be a list of strings, not {value!r}")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"{what} must be a list of strings; {item!r} is not a string")
    return list(value)


@dataclass
class Permissions:
    """WIT ``permissions``: what a stage needs from the host. The workflow must grant at least
    this (``permissions:`` of the stage), or ``engine validate`` fails naming the grant."""

    #: Access to the run's worktree (``WorkspaceAccess`` or ``"none"|"read"|"write"``; always a
    #: ``WorkspaceAccess`` once made).
    workspace: Union[WorkspaceAccess, str] = WorkspaceAccess.NONE
    #: Programs the stage runs through :mod:`engine_stage.exec` (bare names such as ``"git"``).
    exec: List[str] = field(default_factory=list)
    #: Whether the stage starts agent sessions (:mod:`engine_stage.agent`).
    agent: bool = False
    #: Hosts the stage sends HTTP requests to.
    net: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workspace = _enum(WorkspaceAccess, self.workspace, "permissions.workspace")
        self.exec = _names(self.exec, "permissions.exec")
        self.net = _names(self.net, "permissions.net")
        if not isinstance(self.agent, bool):
            raise TypeError(f"permissions.agent must be True or False, not {self.agent!r}")


@dataclass
class Descriptor:
    """WIT ``descriptor``: what ``describe()`` returns.

    ``config_schema`` is the JSON Schema of the stage's ``with:`` block as a Python value (a
    ``dict``; ``{}`` accepts anything); it travels as JSON text (WIT ``config-schema``).
    """

    #: Short name, e.g. ``"changelog-check"``.
    name: str
    #: The stage's own version (semver).
    version: str = "0.1.0"
    #: One line saying what the stage does.
    summary: str = ""
    #: JSON Schema of the ``with:`` config, as a Python value (or JSON text).
    config_schema: Any = field(default_factory=dict)
    #: The permissions the stage needs.
    permissions: Permissions = field(default_factory=Permissions)
    #: The delivery the stage needs (``Delivery`` or ``"at-least-once"|"at-most-once"``; always
    #: a ``Delivery`` once made).
    delivery: Union[Delivery, str] = Delivery.AT_LEAST_ONCE

    def __post_init__(self) -> None:
        for name in ("name", "version", "summary"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Descriptor.{name} must be a string, not {getattr(self, name)!r}")
        if not self.name.strip():
            raise ValueError("Descriptor.name must not be empty")
        if not isinstance(self.permissions, Permissions):
            raise TypeError(
                "Descriptor.permissions must be engine_stage.Permissions(...), "
                f"not {self.permissions!r}"
            )
        self.delivery = _enum(Delivery, self.delivery, "Descriptor.delivery")

    def config_schema_json(self) -> str:
        """The config schema as JSON text (WIT ``config-schema``). Text is checked to be JSON."""
        if isinstance(self.config_schema, str):
            try:
                json.loads(self.config_schema)
            except ValueError as e:
                raise ValueError(f"Descriptor.config_schema is not JSON: {e}") from e
            return self.config_schema
        try:
            return json.dumps(self.config_schema, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Descriptor.config_schema must be JSON (a dict): {e}") from e


@dataclass(frozen=True)
class IdempotencyKeys:
    """WIT ``idempotency-keys``: keys that make a stage's effects happen once."""

    #: ``RUN/STAGE``: the same for every attempt of this stage in this run.
    stage: str
    #: ``RUN/STAGE/ATTEMPT``: unique to this attempt.
    attempt: str


@dataclass(frozen=True)
class Task:
    """WIT ``task``: the task the run works on."""

    #: Stable id (from the task source, or derived from the text for ``--task``).
    id: str
    #: One-line title.
    title: str
    #: Full text (markdown).
    body: str
    #: Labels.
    labels: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Failure:
    """WIT ``failure``: how an attempt failed (``ctx.previous_failure``)."""

    #: Human-readable message.
    message: str
    #: The structured detail, parsed from its JSON text (``None`` when empty, the text itself
    #: when it is not JSON).
    detail: Any = None


@dataclass(frozen=True)
class Feedback:
    """WIT ``feedback``: why a later stage sent the run back here (``on_failure: {goto}``)."""

    #: The stage that failed and sent the run back (WIT ``from-stage``).
    from_stage: str
    #: Its attempt number.
    attempt: int
    #: Its failure message.
    message: str
    #: Its structured detail, parsed (see :attr:`Failure.detail`).
    detail: Any = None


@dataclass(frozen=True)
class RunGit:
    """WIT ``run-git``: the run's branch and base."""

    #: The run's branch (``engine/<task>-<slug>``), checked out in the worktree.
    branch: str
    #: The branch the run started from and merges into (WIT ``base-branch``).
    base_branch: str
    #: The base branch's commit when the run started (WIT ``base-commit``): ``git diff
    #: <base_commit>`` is the run's change so far.
    base_commit: str
    #: The user's checkout on the host (WIT ``repo-root``): for git commands run through
    #: ``exec`` only; the stage itself cannot read it.
    repo_root: str


C = TypeVar("C")


@dataclass
class Context(Generic[C]):
    """WIT ``context``: everything a stage gets for one attempt, with its JSON parsed.

    ``config`` is the stage's ``with:`` block: a ``dict`` (``{}`` when the workflow gives none),
    or an instance of the stage's ``config_class`` when it has one. ``outputs`` maps the id of
    every stage that already succeeded to its outputs (parsed JSON).
    """

    #: The run's id (WIT ``run-id``).
    run_id: str
    #: This stage's id in the workflow (WIT ``stage-id``).
    stage_id: str
    #: Attempt number, from 1; only goes up across retries, loops and resumes.
    attempt: int
    #: Idempotency keys for this attempt.
    keys: IdempotencyKeys
    #: The task.
    task: Task
    #: The ``with:`` config (parsed; see the class doc).
    config: C
    #: Outputs of the stages that already succeeded, by stage id.
    outputs: Dict[str, Any] = field(default_factory=dict)
    #: Set when a later stage sent the run back here.
    feedback: Optional[Feedback] = None
    #: True when an earlier attempt was interrupted by a crash (its effects are unknown).
    interrupted: bool = False
    #: Where the worktree is mounted (``"/workspace"``), or ``None`` without workspace access.
    workspace: Optional[str] = None
    #: How this stage's previous attempt in this run failed, if it did (WIT
    #: ``previous-failure``).
    previous_failure: Optional[Failure] = None
    #: The run's branch and base, when the run works in a git worktree.
    git: Optional[RunGit] = None

    def path(self, *parts: Union[str, PurePosixPath]) -> Path:
        """A path in the worktree: ``ctx.path("CHANGELOG.md")`` is
        ``/workspace/CHANGELOG.md``, a :class:`pathlib.Path` (``.read_text()`` works). Raises
        :class:`engine_stage.Fatal` when the stage has no workspace access (declare and grant
        ``workspace: read`` or ``write``)."""
        if self.workspace is None:
            from .outcome import Fatal

            raise Fatal(
                f"stage {self.stage_id} has no workspace: declare "
                'Permissions(workspace="read") and grant permissions.workspace in the workflow'
            )
        return Path(self.workspace).joinpath(*parts)
