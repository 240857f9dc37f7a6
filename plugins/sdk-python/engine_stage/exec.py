"""Running a granted program on the host (WIT interface ``exec``).

``exec.run("git", ["diff", "--name-only", base])`` runs ``git`` in ``/workspace`` (the run's
worktree) and returns its :class:`Output`; ``.check()`` raises :class:`CommandFailed` unless it
exited with 0. The program must be declared in ``Permissions(exec=[...])`` and granted by the
workflow (``permissions: { exec: [git] }``); there is no shell, and the program starts from a
scrubbed environment. When the host cannot run it at all, :func:`run` raises an
:class:`ExecError` (``NotPermitted``, ``NotFound``, ``InvalidCwd``, ``InvalidArgument``,
``SpawnFailed``). Both are :class:`engine_stage.Fatal`, so a stage that does not catch them
fails with their message.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from . import _host
from .outcome import Fatal

#: How much of the end of stdout/stderr a :class:`CommandFailed` detail keeps.
_QUOTE_CHARS = 2000
#: How much of the first line of stderr a :class:`CommandFailed` message quotes.
_QUOTE_LINE_CHARS = 300


@dataclass(frozen=True)
class Command:
    """WIT ``exec.command``: a program to run (what :func:`run` sends to the host)."""

    #: Bare program name, e.g. ``"git"``.
    program: str
    #: Arguments, passed as they are.
    args: List[str] = field(default_factory=list)
    #: Working directory: ``/workspace`` or below, absolute or relative to it; ``None`` is
    #: ``/workspace``.
    cwd: Optional[str] = None
    #: Extra environment variables, as ``(name, value)`` pairs.
    env: List[Tuple[str, str]] = field(default_factory=list)
    #: Kill it after this many milliseconds (WIT ``timeout-ms``, a u64).
    timeout_ms: Optional[int] = None
    #: Keep at most this many bytes of stdout and of stderr (WIT ``output-cap``, a u64).
    output_cap: Optional[int] = None

    def text(self) -> str:
        """The command as one line, for messages: ``git diff --name-only abc123``."""
        return " ".join([self.program, *self.args])


@dataclass(frozen=True)
class Output:
    """WIT ``exec.output``: how a program ended."""

    #: The command that ran.
    command: Command
    #: Exit code; ``None`` when a signal killed it (WIT ``exit-code``, an s32).
    exit_code: Optional[int]
    #: The signal that killed it, if any.
    signal: Optional[int] = None
    #: True when the host killed it for running past its timeout (WIT ``timed-out``).
    timed_out: bool = False
    #: The tail of stdout (lossy UTF-8).
    stdout: str = ""
    #: The tail of stderr (lossy UTF-8).
    stderr: str = ""
    #: Total bytes written to stdout, including what was dropped (a u64).
    stdout_bytes: int = 0
    #: Total bytes written to stderr, including what was dropped (a u64).
    stderr_bytes: int = 0
    #: Wall time in milliseconds (a u64).
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        """True when it exited with code 0 (and was not killed)."""
        return self.exit_code == 0 and not self.timed_out

    def status_text(self) -> str:
        """How it ended, in words: ``exit code 1``, ``killed by signal 9``, ``timed out``."""
        if self.timed_out:
            return f"timed out after {self.duration_ms} ms"
        if self.exit_code is not None:
            return f"exit code {self.exit_code}"
        if self.signal is not None:
            return f"killed by signal {self.signal}"
        return "ended without an exit code"

    def check(self) -> "Output":
        """Returns this output when the program succeeded, else raises :class:`CommandFailed`
        (whose message names the command, how it ended and the end of its stderr)."""
        if not self.ok:
            raise CommandFailed(self)
        return self


class CommandFailed(Fatal):
    """A program ran and did not succeed (raised by :meth:`Output.check`). A
    :class:`engine_stage.Fatal` whose detail holds the command, its status and output tails."""

    def __init__(self, output: Output) -> None:
        said = [
            line.strip() for line in (output.stderr or output.stdout).splitlines() if line.strip()
        ]
        message = f"`{output.command.text()}` failed ({output.status_text()})"
        if said:
            message += f": {said[0][:_QUOTE_LINE_CHARS]}"
        if len(said) > 1:
            message += f" (+{len(said) - 1} more lines in the detail)"
        super().__init__(
            message,
            {
                "command": [output.command.program, *output.command.args],
                "exit_code": output.exit_code,
                "signal": output.signal,
                "timed_out": output.timed_out,
                "stdout": output.stdout[-_QUOTE_CHARS:],
                "stderr": output.stderr[-_QUOTE_CHARS:],
            },
        )
        #: The program's output.
        self.output = output


class ExecError(Fatal):
    """The host could not run the program (WIT ``exec-error``); ``kind`` is the variant's name
    and the message is the host's explanation."""

    #: The WIT variant, e.g. ``"not-permitted"``.
    kind = "exec-error"

    def __init__(self, command: Command, message: str) -> None:
        super().__init__(message, {"command": [command.program, *command.args], "kind": self.kind})
        #: The command that could not run.
        self.command = command


class NotPermitted(ExecError):
    """WIT ``not-permitted``: the workflow does not grant this program to this stage."""

    kind = "not-permitted"


class NotFound(ExecError):
    """WIT ``not-found``: the program is not on the host's PATH."""

    kind = "not-found"


class InvalidCwd(ExecError):
    """WIT ``invalid-cwd``: the working directory is not inside the workspace."""

    kind = "invalid-cwd"


class InvalidArgument(ExecError):
    """WIT ``invalid-argument``: an argument or variable is invalid (e.g. contains NUL)."""

    kind = "invalid-argument"


class SpawnFailed(ExecError):
    """WIT ``spawn-failed``: the program could not be started."""

    kind = "spawn-failed"


_ERRORS = {
    cls.__name__: cls for cls in (NotPermitted, NotFound, InvalidCwd, InvalidArgument, SpawnFailed)
}


def run(
    program: str,
    args: Sequence[Any] = (),
    *,
    cwd: Union[str, "os.PathLike[str]", None] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: Union[float, datetime.timedelta, None] = None,
    output_cap: Optional[int] = None,
) -> Output:
    """Runs ``program`` with ``args`` to completion and returns its :class:`Output` (a non-zero
    exit is not an exception: call ``.check()``).

    ``args`` may hold strings and path-like objects; ``cwd`` is ``/workspace`` or a directory
    below it (relative paths are relative to ``/workspace``); ``env`` adds variables;
    ``timeout`` is in seconds (or a ``timedelta``; capped by the stage's remaining time);
    ``output_cap`` keeps the last that many bytes of stdout and of stderr. Raises an
    :class:`ExecError` when the host cannot run it.
    """
    if not isinstance(program, str) or not program:
        raise TypeError(f"exec.run: program must be a non-empty string, not {program!r}")
    if isinstance(args, (str, bytes)):
        raise TypeError(f"exec.run: args must be a list of strings, not the string {args!r}")
    arg_list = []
    for arg in args:
        if isinstance(arg, os.PathLike):
            arg = os.fspath(arg)
        if not isinstance(arg, str):
            raise TypeError(f"exec.run: argument {arg!r} is not a string")
        arg_list.append(arg)
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    timeout_ms = None if timeout is None else max(0, int(float(timeout) * 1000))
    command = Command(
        program=program,
        args=arg_list,
        cwd=None if cwd is None else os.fspath(cwd),
        env=[(str(k), str(v)) for k, v in (env or {}).items()],
        timeout_ms=timeout_ms,
        output_cap=None if output_cap is None else int(output_cap),
    )
    output: Output = _host.current().exec(command)
    return output


def output_from_raw(command: Command, raw: Any) -> Output:
    """An :class:`Output` from the bindings' ``exec.Output`` record."""
    return Output(
        command=command,
        exit_code=raw.exit_code,
        signal=raw.signal,
        timed_out=raw.timed_out,
        stdout=raw.stdout,
        stderr=raw.stderr,
        stdout_bytes=raw.stdout_bytes,
        stderr_bytes=raw.stderr_bytes,
        duration_ms=raw.duration_ms,
    )


def exec_error_from_raw(command: Command, raw: Any) -> ExecError:
    """An :class:`ExecError` from the bindings' ``ExecError_<Kind>`` variant case."""
    case = type(raw).__name__.split("_", 1)[-1]
    return _ERRORS.get(case, SpawnFailed)(command, str(getattr(raw, "value", raw)))
