"""The engine's Python SDK for stages (WIT world ``engine:stage/stage``), built into a
WebAssembly component with componentize-py by ``engine plugin build``.

A stage is a class; ``app.py`` exports it::

    from engine_stage import Permissions, Stage, Success, export, log

    class Hello(Stage):
        \"\"\"Says hello.\"\"\"
        permissions = Permissions(workspace="read")

        def run(self, ctx):
            log.info(f"hello, {ctx.task.title}")
            return Success("said hello", outputs={"greeted": ctx.task.title})

    WitWorld = export(Hello)  # componentize-py calls the class named WitWorld

Raise :class:`Retryable` or :class:`Fatal` to fail an attempt; any other exception fails it
fatally with the exception's text (``ValueError: bad config``) and its traceback in the detail
and the log. Importing this package does not need the engine: unit tests run with plain
``python3`` (see :mod:`engine_stage.testing`). Task sources: :mod:`engine_stage.source`.
"""

from . import exec, log
from ._wit import export
from .log import progress
from .outcome import Fatal, NeedsAttention, Retryable, StageError, Success
from .stage import Stage
from .types import (
    WORKSPACE,
    Context,
    Delivery,
    Descriptor,
    Failure,
    Feedback,
    IdempotencyKeys,
    Permissions,
    RunGit,
    Task,
    WorkspaceAccess,
)

#: The SDK's version (the engine version it was shipped with is in ``.engine/``).
__version__ = "0.1.0"

__all__ = [
    "WORKSPACE",
    "Context",
    "Delivery",
    "Descriptor",
    "Failure",
    "Fatal",
    "Feedback",
    "IdempotencyKeys",
    "NeedsAttention",
    "Permissions",
    "Retryable",
    "RunGit",
    "Stage",
    "StageError",
    "Success",
    "Task",
    "WorkspaceAccess",
    "exec",
    "export",
    "log",
    "progress",
]
