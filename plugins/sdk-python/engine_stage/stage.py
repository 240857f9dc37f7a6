"""The :class:`Stage` base class, and what happens around ``describe`` and ``run``: the config
parsed, the result checked, every exception turned into a failure the user can read."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
from types import TracebackType
from typing import Any, ClassVar, Optional, Union

from . import config as _config
from . import log
from .outcome import Fatal, StageError, Success
from .types import Context, Delivery, Descriptor, Permissions

#: The file whose frames are left out of a stage's traceback.
_SDK_FRAME = os.path.join("engine_stage", "stage.py")


class Stage:
    """Base class of a stage. Set the class attributes (they make :meth:`describe`) and write
    :meth:`run`; then export it for componentize-py with ``WitWorld = export(MyStage)``.

    A new instance is made for each call; nothing survives between attempts.
    """

    #: Short name (WIT ``descriptor.name``); default: the class name in kebab-case.
    name: ClassVar[str] = ""
    #: The stage's own version (semver).
    version: ClassVar[str] = "0.1.0"
    #: One line saying what the stage does; default: the first line of the class docstring.
    summary: ClassVar[str] = ""
    #: JSON Schema of the ``with:`` config, as a dict; default: derived from ``config_class``
    #: when there is one, else ``{}`` (anything).
    config_schema: ClassVar[Any] = None
    #: A dataclass the ``with:`` config is built into (``ctx.config``); ``None``: a ``dict``.
    config_class: ClassVar[Optional[type]] = None
    #: What the stage needs from the host.
    permissions: ClassVar[Permissions] = Permissions()
    #: How often its effects may happen.
    delivery: ClassVar[Delivery] = Delivery.AT_LEAST_ONCE

    def describe(self) -> Descriptor:
        """Who the stage is and what it needs (WIT ``describe``), from the class attributes.
        Override it only to compute the descriptor; it must be cheap and must not call
        ``log``, ``exec`` or ``agent``."""
        cls = type(self)
        schema = cls.config_schema
        if schema is None:
            schema = _config.schema(cls.config_class) if cls.config_class is not None else {}
        return Descriptor(
            name=cls.name or kebab(cls.__name__),
            version=cls.version,
            summary=cls.summary or first_line(cls.__doc__),
            config_schema=schema,
            permissions=cls.permissions,
            delivery=cls.delivery,
        )

    def run(self, ctx: Context[Any]) -> Union[Success, str]:
        """One attempt (WIT ``run``): return a :class:`Success` (or a ``str``, its summary), or
        raise :class:`engine_stage.Retryable` / :class:`engine_stage.Fatal`."""
        raise NotImplementedError(f"{type(self).__name__}.run is not written yet")


def kebab(name: str) -> str:
    """``ChangelogCheck`` → ``changelog-check``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).replace("_", "-").lower()


def first_line(doc: Optional[str]) -> str:
    """The first non-empty line of a docstring ("" without one)."""
    for line in (doc or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def build_config(stage_class: type, data: Any) -> Any:
    """``ctx.config`` from the parsed ``with:`` (``None`` is ``{}``): a dict, or the stage's
    ``config_class``. A config that does not fit raises :class:`Fatal` ``invalid config: ...``
    with the config in the detail."""
    if data is None:
        data = {}
    config_class = getattr(stage_class, "config_class", None)
    if config_class is None:
        return data
    try:
        return _config.build(config_class, data)
    except (_config.ConfigError, TypeError) as e:
        raise Fatal(f"invalid config: {e}", {"config": data}) from None


def call_run(stage_class: type, ctx: Context[Any]) -> Union[Success, StageError]:
    """Runs one attempt of ``stage_class`` with ``ctx`` and returns how it ended: a
    :class:`Success`, or the :class:`StageError` it raised. Any other exception becomes a
    :class:`Fatal` whose message is ``<Type>: <text>`` (e.g. ``ValueError: bad config``) and
    whose detail holds the exception's type and traceback, which is also written to the log."""
    try:
        result = stage_class().run(ctx)
        if isinstance(result, str):
            result = Success(result)
        if not isinstance(result, Success):
            raise TypeError(
                f"{stage_class.__name__}.run returned {type(result).__name__}; return "
                "engine_stage.Success(summary, outputs={...}) or raise Retryable/Fatal"
            )
        return result
    except StageError as e:
        return e
    except BaseException as e:  # every exception, even SystemExit, ends the attempt
        return from_exception(e)


def from_exception(e: BaseException) -> Fatal:
    """A :class:`Fatal` for an exception the stage did not catch; its traceback goes to the log
    (error level) and into the detail."""
    text = str(e).strip()
    message = f"{type(e).__name__}: {text}" if text else type(e).__name__
    tb = e.__traceback__
    # The SDK's own frame (the call of `run`) says nothing to the stage's author.
    while tb is not None and tb.tb_frame.f_code.co_filename.endswith(_SDK_FRAME):
        tb = tb.tb_next
    trace = _short_paths("".join(traceback.format_exception(type(e), e, tb)))
    where = _innermost(tb)
    # The failure must reach the engine even if logging it fails.
    with contextlib.suppress(BaseException):
        log.error(trace.rstrip())
    detail = {"exception": f"{type(e).__module__}.{type(e).__qualname__}", "traceback": trace}
    if where:
        detail["at"] = where
    return Fatal(message, detail)


def _innermost(tb: Optional[TracebackType]) -> str:
    """``file:line in function`` of the frame that raised."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return ""
    last = frames[-1]
    return _short_paths(f"{last.filename}:{last.lineno} in {last.name}")


def _short_paths(text: str) -> str:
    """Inside a component, componentize-py mounts each directory of the Python path at
    ``/0/``, ``/1/``...: ``/0/app.py`` is the project's ``app.py``. Shows it as ``app.py``."""
    if sys.platform != "wasi":
        return text
    return re.sub(r'(^|File "|\s)/\d+/', r"\1", text, flags=re.MULTILINE)
