"""The records a task source exchanges with the engine (``wit/source.wit``, interface
``source-types``), as Python dataclasses, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, List, Optional

from ..types import Permissions, _enum


class TaskStatus(str, Enum):
    """WIT ``task-status``: where a task stands, normalized across sources."""

    #: Not started.
    TODO = "todo"
    #: Started and not finished.
    IN_PROGRESS = "in-progress"
    #: Finished.
    DONE = "done"
    #: Someone marked it blocked.
    BLOCKED = "blocked"


@dataclass
class ChecklistItem:
    """WIT ``checklist-item``: one item of a task's checklist."""

    text: str
    done: bool = False


@dataclass
class Location:
    """WIT ``location``: where something is written (a path relative to ``/workspace``, or a
    reference such as an issue URL), with a 1-based line when it is a text file."""

    file: str
    line: Optional[int] = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass
class Task:
    """WIT ``source-types.task``: a task as the source has it. ``status`` accepts a
    :class:`TaskStatus` or its name; ``raw_status`` (the status as the source writes it)
    defaults to the status's name; ``priority`` is 0 (highest) to 255."""

    id: str
    title: str
    body: str = ""
    status: TaskStatus = TaskStatus.TODO
    raw_status: str = ""
    priority: int = 2
    labels: List[str] = field(default_factory=list)
    #: Ids of the tasks this one waits for (WIT ``depends-on``).
    depends_on: List[str] = field(default_factory=list)
    milestone: Optional[str] = None
    estimate: Optional[str] = None
    checklist: List[ChecklistItem] = field(default_factory=list)
    #: Requirements or design items the task traces to.
    traces: List[str] = field(default_factory=list)
    location: Optional[Location] = None

    def __post_init__(self) -> None:
        self.status = _enum(TaskStatus, self.status, f"task {self.id}: status")
        if not self.raw_status:
            self.raw_status = self.status.value
        if not isinstance(self.priority, int) or not 0 <= self.priority <= 255:
            raise ValueError(
                f"task {self.id}: priority must be an int from 0 to 255, not {self.priority!r}"
            )


@dataclass
class Diagnostic:
    """WIT ``diagnostic``: a problem found in the source's data, located when known."""

    message: str
    location: Optional[Location] = None

    def __str__(self) -> str:
        return self.message if self.location is None else f"{self.location}: {self.message}"


@dataclass
class TaskList:
    """WIT ``task-list``: every task, in the source's order, and problems that did not stop
    the listing. ``list_tasks`` may also return a plain list of tasks."""

    tasks: List[Task] = field(default_factory=list)
    warnings: List[Diagnostic] = field(default_factory=list)


@dataclass
class SourceDescriptor:
    """WIT ``source-descriptor``: who the source is and what it needs."""

    name: str
    version: str = "0.1.0"
    summary: str = ""
    #: JSON Schema of the source's config (the workflow's ``tasks:`` mapping without
    #: ``source``, ``sha256`` and ``permissions``), as a Python value or JSON text.
    config_schema: Any = field(default_factory=dict)
    permissions: Permissions = field(default_factory=Permissions)


class SourceError(Exception):
    """A failed call (WIT ``source-error``). Raise one of its kinds; ``kind`` is the WIT
    variant's name. Any other exception becomes :class:`Failed` with its text."""

    kind = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        #: What went wrong, for a person.
        self.message = str(message)

    def __str__(self) -> str:
        return self.message


class InvalidConfig(SourceError):
    """WIT ``invalid-config``: the config does not fit the source."""

    kind = "invalid-config"


class Malformed(SourceError):
    """WIT ``malformed``: the source's data is unusable; every problem, located."""

    kind = "malformed"

    def __init__(self, diagnostics: List[Diagnostic]) -> None:
        super().__init__("; ".join(str(d) for d in diagnostics) or "malformed")
        #: The problems found.
        self.diagnostics = list(diagnostics)


class NotFound(SourceError):
    """WIT ``not-found``: no task has this id."""

    kind = "not-found"


class Conflict(SourceError):
    """WIT ``conflict``: the task's state does not allow the change."""

    kind = "conflict"


class Unsupported(SourceError):
    """WIT ``unsupported``: the source cannot do this (the default of ``claim``/``update``)."""

    kind = "unsupported"


class Unavailable(SourceError):
    """WIT ``unavailable``: a temporary failure; trying again later may succeed."""

    kind = "unavailable"


class Failed(SourceError):
    """WIT ``failed``: anything else."""

    kind = "failed"
