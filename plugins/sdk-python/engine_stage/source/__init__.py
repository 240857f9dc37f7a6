"""Task sources in Python (WIT world ``engine:stage/source``): where a workflow's tasks come
from. A source is a class; ``app.py`` exports it::

    from engine_stage.source import Source, Task, export

    class Todo(Source):
        \"\"\"Tasks from TODO.txt, one per line.\"\"\"
        permissions = Permissions(workspace="read")

        def list_tasks(self, config):
            lines = open("/workspace/TODO.txt").read().splitlines()
            return [Task(id=f"todo-{i}", title=line) for i, line in enumerate(lines, 1)]

    WitWorld = export(Todo)

``list_tasks`` returns a list of :class:`Task` (or a :class:`TaskList` with warnings);
``claim`` and ``update`` return the task as it is now and default to :class:`Unsupported`.
Raise a :class:`SourceError` kind to fail a call; any other exception fails it as
:class:`Failed` with the exception's text (``KeyError: 'id'``). Build with ``kind = "source"``
in ``plugin.toml``.
"""

from __future__ import annotations

from typing import Any, ClassVar, List, Optional, Union

from ..types import Permissions
from .types import (
    ChecklistItem,
    Conflict,
    Diagnostic,
    Failed,
    InvalidConfig,
    Location,
    Malformed,
    NotFound,
    SourceDescriptor,
    SourceError,
    Task,
    TaskList,
    TaskStatus,
    Unavailable,
    Unsupported,
)


class Source:
    """Base class of a task source. Set the class attributes (they make :meth:`describe`),
    write :meth:`list_tasks` (and :meth:`claim` / :meth:`update` when the source can change
    tasks), then ``WitWorld = export(MySource)``. A new instance is made for each call."""

    #: Short name; default: the class name in kebab-case.
    name: ClassVar[str] = ""
    #: The source's own version (semver).
    version: ClassVar[str] = "0.1.0"
    #: One line saying where the tasks come from; default: the docstring's first line.
    summary: ClassVar[str] = ""
    #: JSON Schema of the config; default: derived from ``config_class``, else ``{}``.
    config_schema: ClassVar[Any] = None
    #: A dataclass the config is built into; ``None``: a ``dict``.
    config_class: ClassVar[Optional[type]] = None
    #: What the source needs (``workspace="write"`` only for ``claim``/``update``).
    permissions: ClassVar[Permissions] = Permissions()

    def describe(self) -> SourceDescriptor:
        """Who the source is and what it needs, from the class attributes. Must be cheap and
        must not call ``log`` or ``exec``."""
        from .. import config as _config
        from ..stage import first_line, kebab

        cls = type(self)
        schema = cls.config_schema
        if schema is None:
            schema = _config.schema(cls.config_class) if cls.config_class is not None else {}
        return SourceDescriptor(
            name=cls.name or kebab(cls.__name__),
            version=cls.version,
            summary=cls.summary or first_line(cls.__doc__),
            config_schema=schema,
            permissions=cls.permissions,
        )

    def list_tasks(self, config: Any) -> Union[List[Task], TaskList]:
        """Every task, in the source's order. Keep it free of side effects."""
        raise NotImplementedError(f"{type(self).__name__}.list_tasks is not written yet")

    def claim(self, config: Any, id: str, claimant: str) -> Task:
        """Takes task ``id`` for ``claimant`` (the run id); claiming a task the same claimant
        already holds must succeed. Default: :class:`Unsupported`."""
        raise Unsupported(f"{type(self).__name__} cannot claim tasks")

    def update(self, config: Any, id: str, status: TaskStatus, note: Optional[str]) -> Task:
        """Sets task ``id``'s status (``note``: a comment, when the source keeps one); setting
        the status it already has must change nothing. Default: :class:`Unsupported`."""
        raise Unsupported(f"{type(self).__name__} cannot update tasks")


def export(source_class: type) -> type:
    """The class componentize-py exports for ``source_class``: ``WitWorld = export(MySource)``."""
    from . import _wit

    return _wit.export(source_class)


__all__ = [
    "ChecklistItem",
    "Conflict",
    "Diagnostic",
    "Failed",
    "InvalidConfig",
    "Location",
    "Malformed",
    "NotFound",
    "Permissions",
    "Source",
    "SourceDescriptor",
    "SourceError",
    "Task",
    "TaskList",
    "TaskStatus",
    "Unavailable",
    "Unsupported",
    "export",
]
