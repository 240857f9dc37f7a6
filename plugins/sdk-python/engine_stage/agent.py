"""Coding-agent sessions run and supervised by the host (WIT interface ``agent``; the stage must
declare ``Permissions(agent=True)`` and the workflow grant ``agent: true``)::

    from engine_stage import agent

    with agent.start("claude", "Add a --json flag", model="smart") as session:
        for event in session.events():
            if event.kind == "tool-finished" and not event.value.ok:
                log.warn(f"tool {event.value.name} failed")
        summary = session.finish()
    if summary.outcome is not agent.Outcome.COMPLETED:
        raise Retryable(summary.detail)

``start`` raises :class:`AgentError` (a :class:`engine_stage.Fatal`) when the session cannot
start; ``kind`` says why (``not-permitted``, ``unknown-backend``, ``budget-exhausted``,
``spawn-failed``, ``invalid-request``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterator, List, Optional

from . import _host
from .outcome import Fatal


class PermissionMode(str, Enum):
    """WIT ``permission-mode``: how much the agent may do without asking."""

    DEFAULT = "default"
    ACCEPT_EDITS = "accept-edits"
    PLAN = "plan"
    BYPASS = "bypass"


class Outcome(str, Enum):
    """WIT ``outcome``: how a session ended."""

    COMPLETED = "completed"
    ERRORED = "errored"
    MAX_TURNS = "max-turns"
    BUDGET_EXCEEDED = "budget-exceeded"
    RATE_LIMITED = "rate-limited"
    AUTH_FAILED = "auth-failed"
    QUOTA_EXHAUSTED = "quota-exhausted"
    MISCONFIGURED = "misconfigured"
    CONTEXT_OVERFLOW = "context-overflow"
    KILLED_INACTIVE = "killed-inactive"
    KILLED_TOOL_CEILING = "killed-tool-ceiling"
    KILLED_SILENCE = "killed-silence"
    CRASHED = "crashed"
    CANCELLED = "cancelled"


@dataclass
class SessionRequest:
    """WIT ``session-request``: a session to start (see :func:`start` for the fields)."""

    backend: str
    prompt: str
    model: Optional[str] = None
    system_prompt: Optional[str] = None
    permission_mode: PermissionMode = PermissionMode.DEFAULT
    allowed_tools: List[str] = field(default_factory=list)
    denied_tools: List[str] = field(default_factory=list)
    max_turns: Optional[int] = None
    resume_session: Optional[str] = None
    budget_usd: Optional[float] = None


@dataclass(frozen=True)
class Usage:
    """WIT ``usage``: token and cost counters (ints; ``cost_usd`` a float or ``None``)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Optional[float] = None


@dataclass(frozen=True)
class ToolCall:
    """WIT ``tool-call``: a tool call the agent started; ``input`` is JSON text."""

    id: str
    name: str
    input: str


@dataclass(frozen=True)
class ToolResult:
    """WIT ``tool-result``: a tool call that finished."""

    id: str
    name: Optional[str]
    ok: bool
    output: str


@dataclass(frozen=True)
class ResultInfo:
    """WIT ``result-info``: the CLI's terminal result."""

    is_error: bool
    subtype: str
    text: str


@dataclass(frozen=True)
class Event:
    """WIT ``event``: ``kind`` is the variant's name (``"session-started"``,
    ``"assistant-text"``, ``"tool-started"``, ``"tool-finished"``, ``"usage"``,
    ``"rate-limited"``, ``"api-retry"``, ``"auth-failed"``, ``"quota-exhausted"``,
    ``"context-overflow"``, ``"final-result"``, ``"stderr-line"``, ``"unknown"``,
    ``"supervisor-warning"``) and ``value`` its payload: a ``str``, an ``int``, ``None``, or a
    :class:`ToolCall` / :class:`ToolResult` / :class:`Usage` / :class:`ResultInfo`."""

    kind: str
    value: Any = None


@dataclass(frozen=True)
class Summary:
    """WIT ``summary``: the end of a session."""

    outcome: Outcome
    result_text: str
    session_id: Optional[str]
    turns: int
    usage: Usage
    duration_ms: int
    exit_code: Optional[int]
    detail: str
    resets_at_ms: Optional[int]
    files_changed: List[str]


class AgentError(Fatal):
    """WIT ``agent-error``: the session could not start; ``kind`` is the variant's name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, {"kind": kind})
        #: ``not-permitted``, ``unknown-backend``, ``budget-exhausted``, ``spawn-failed`` or
        #: ``invalid-request``.
        self.kind = kind


class Session:
    """A running (or finished) session (WIT ``resource session``); a context manager that
    releases it on exit."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def next_event(self) -> Optional[Event]:
        """The next event, waiting for it; ``None`` once the session has ended."""
        raw = self._raw.next_event()
        return None if raw is None else event_from_raw(raw)

    def events(self) -> Iterator[Event]:
        """Every event until the session ends."""
        while True:
            event = self.next_event()
            if event is None:
                return
            yield event

    def cancel(self) -> None:
        """Stops the session (kills the process group)."""
        self._raw.cancel()

    def finish(self) -> Summary:
        """Waits for the session to end and returns its :class:`Summary`."""
        return summary_from_raw(self._raw.finish())

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        exit_raw = getattr(self._raw, "__exit__", None)
        if exit_raw is not None:
            exit_raw(*exc)


def start(
    backend: str,
    prompt: str,
    *,
    model: Optional[str] = None,
    system_prompt: Optional[str] = None,
    permission_mode: Any = PermissionMode.DEFAULT,
    allowed_tools: Optional[List[str]] = None,
    denied_tools: Optional[List[str]] = None,
    max_turns: Optional[int] = None,
    resume_session: Optional[str] = None,
    budget_usd: Optional[float] = None,
) -> Session:
    """Starts a session (WIT ``start``). ``backend``: ``claude``, ``codex``... or a ``custom``
    backend of the workflow; ``model``: a model id or a tier (``genius``, ``smart``,
    ``primitive``); ``permission_mode``: a :class:`PermissionMode` or its name;
    ``resume_session``: continue an earlier session; ``budget_usd``: this session's cap."""
    mode = permission_mode
    if not isinstance(mode, PermissionMode):
        mode = PermissionMode(str(mode).replace("_", "-"))
    request = SessionRequest(
        backend=backend,
        prompt=prompt,
        model=model,
        system_prompt=system_prompt,
        permission_mode=mode,
        allowed_tools=list(allowed_tools or []),
        denied_tools=list(denied_tools or []),
        max_turns=max_turns,
        resume_session=resume_session,
        budget_usd=budget_usd,
    )
    session: Session = _host.current().agent_start(request)
    return session


def start_with_bindings(request: SessionRequest) -> Session:
    """:func:`start` through the generated bindings (inside a component)."""
    from componentize_py_types import Err  # type: ignore  # generated by componentize-py
    from wit_world.imports import agent as wit  # type: ignore  # generated by componentize-py

    raw = wit.SessionRequest(
        backend=request.backend,
        model=request.model,
        prompt=request.prompt,
        system_prompt=request.system_prompt,
        permission_mode=getattr(wit.PermissionMode, request.permission_mode.name),
        allowed_tools=list(request.allowed_tools),
        denied_tools=list(request.denied_tools),
        max_turns=request.max_turns,
        resume_session=request.resume_session,
        budget_usd=request.budget_usd,
    )
    try:
        return Session(wit.start(raw))
    except Err as e:
        raise AgentError(_case_name(e.value), str(e.value.value)) from None


def _case_name(raw: Any) -> str:
    """``Event_ToolStarted`` → ``tool-started``."""
    case = type(raw).__name__.split("_", 1)[-1]
    out = []
    for i, ch in enumerate(case):
        if ch.isupper() and i:
            out.append("-")
        out.append(ch.lower())
    return "".join(out)


def _usage(raw: Any) -> Usage:
    return Usage(
        input_tokens=raw.input_tokens,
        output_tokens=raw.output_tokens,
        cache_read_tokens=raw.cache_read_tokens,
        cache_write_tokens=raw.cache_write_tokens,
        cost_usd=raw.cost_usd,
    )


def event_from_raw(raw: Any) -> Event:
    """An :class:`Event` from the bindings' ``Event_<Case>``."""
    kind = _case_name(raw)
    value: Any = getattr(raw, "value", None)
    if kind == "tool-started":
        value = ToolCall(id=value.id, name=value.name, input=value.input)
    elif kind == "tool-finished":
        value = ToolResult(id=value.id, name=value.name, ok=value.ok, output=value.output)
    elif kind == "usage":
        value = _usage(value)
    elif kind == "final-result":
        value = ResultInfo(is_error=value.is_error, subtype=value.subtype, text=value.text)
    return Event(kind, value)


def summary_from_raw(raw: Any) -> Summary:
    """A :class:`Summary` from the bindings' record."""
    return Summary(
        outcome=Outcome[raw.outcome.name],
        result_text=raw.result_text,
        session_id=raw.session_id,
        turns=raw.turns,
        usage=_usage(raw.usage),
        duration_ms=raw.duration_ms,
        exit_code=raw.exit_code,
        detail=raw.detail,
        resets_at_ms=raw.resets_at_ms,
        files_changed=list(raw.files_changed),
    )
