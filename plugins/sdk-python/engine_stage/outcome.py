"""How an attempt ends: return :class:`Success`, or raise :class:`Retryable` / :class:`Fatal`
(WIT ``success`` and ``stage-error``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass
class Success:
    """A successful attempt (WIT ``success``): a one-line summary shown to the user and outputs
    later stages see (``ctx.outputs["this-stage"]``, ``{{ stages.S.outputs.key }}`` in the
    workflow). ``outputs`` must be JSON (dict of str, int, float, bool, None, lists, dicts)."""

    #: One-line summary shown to the user.
    summary: str = ""
    #: Outputs by key; sent as JSON text (WIT ``success.outputs``).
    outputs: Dict[str, Any] = field(default_factory=dict)

    def output(self, key: str, value: Any) -> "Success":
        """Adds (or replaces) one output; returns the same ``Success`` to chain calls."""
        self.outputs[key] = value
        return self


class StageError(Exception):
    """A failed attempt (WIT ``stage-error``). Raise one of its kinds, :class:`Retryable` or
    :class:`Fatal`, from ``run``; its message becomes the failure message the user sees and
    ``detail`` (any JSON value) the failure's structured detail."""

    #: Whether trying again may help (``Retryable``) or not (``Fatal``).
    retryable: bool = False

    def __init__(self, message: str, detail: Optional[Any] = None) -> None:
        super().__init__(message)
        #: Human-readable message (WIT ``failure.message``).
        self.message = str(message)
        #: Structured detail, any JSON value; ``None`` is sent as ``{}`` (WIT ``failure.detail``).
        self.detail = detail

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, detail={self.detail!r})"

    def with_detail(self, **fields: Any) -> "StageError":
        """Adds fields to the detail (a dict; a detail that is not a dict is kept under
        ``"detail"``); returns the same error to chain: ``raise Fatal("x").with_detail(file=f)``."""
        if self.detail is None:
            merged: Dict[str, Any] = {}
        elif isinstance(self.detail, dict):
            merged = dict(self.detail)
        else:
            merged = {"detail": self.detail}
        merged.update(fields)
        self.detail = merged
        return self


class Retryable(StageError):
    """Transient failure (WIT ``stage-error::retryable``): trying again may succeed; the engine
    retries it under the stage's ``retry:`` policy."""

    retryable = True


class Fatal(StageError):
    """Deterministic failure (WIT ``stage-error::fatal``): trying again the same way will not
    help; the run fails (or goes back per ``on_failure``). Any exception ``run`` does not catch
    becomes a ``Fatal`` too."""

    retryable = False


class NeedsAttention(Fatal):
    """The run should not go on until a person looks (the task is already done, too vague...):
    a fatal failure with message ``needs attention: <reason>`` and detail
    ``{"needs_attention": true, "reason": <reason>, ...}``; the engine ends the run "needs
    attention" (exit code 6) with no retry and no ``on_failure`` loop. Extra keyword arguments
    join the detail."""

    def __init__(self, reason: str, **fields: Any) -> None:
        detail: Dict[str, Any] = {"needs_attention": True, "reason": str(reason)}
        detail.update(fields)
        super().__init__(f"needs attention: {reason}", detail)
        #: Why the run needs a person.
        self.reason = str(reason)
