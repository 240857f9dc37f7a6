"""Lines in the run's log and progress shown while the stage runs (WIT interface ``log``).

``log.info("checked 3 files")`` appears under the stage in ``engine run``'s output and in
``engine logs``. ``print()`` goes to the component's stdout, which the engine keeps only in its
debug log: use these functions for what users should see.
"""

from __future__ import annotations

from typing import Any, Optional

from . import _host


def _write(level: str, message: Any) -> None:
    _host.current().log(level, str(message))


def trace(message: Any) -> None:
    """Writes ``message`` at level ``trace`` (WIT ``level::trace``)."""
    _write("trace", message)


def debug(message: Any) -> None:
    """Writes ``message`` at level ``debug`` (WIT ``level::debug``)."""
    _write("debug", message)


def info(message: Any) -> None:
    """Writes ``message`` at level ``info`` (WIT ``level::info``)."""
    _write("info", message)


def warn(message: Any) -> None:
    """Writes ``message`` at level ``warn`` (WIT ``level::warn``)."""
    _write("warn", message)


#: The same as :func:`warn`, by the name Python's :mod:`logging` uses.
warning = warn


def error(message: Any) -> None:
    """Writes ``message`` at level ``error`` (WIT ``level::error``)."""
    _write("error", message)


def progress(message: Any, fraction: Optional[float] = None) -> None:
    """Reports progress, shown while the stage runs (WIT ``progress``). ``fraction`` is
    ``0.0``..``1.0`` when known (clamped into that range), ``None`` otherwise."""
    if fraction is not None:
        fraction = min(1.0, max(0.0, float(fraction)))
    _host.current().progress(str(message), fraction)
