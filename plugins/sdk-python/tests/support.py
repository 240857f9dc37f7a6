"""Shared by the SDK's tests: the repository's paths and the bindings componentize-py
generates for a world, imported as the component would import them.

The bindings come from componentize-py 0.25.1 as ``engine plugin build`` installs it
(``$ENGINE_TOOLS_DIR/componentize-py-0.25.1``, default ``<repo>/target/plugin-tools``), or the
interpreter named by ``$COMPONENTIZE_PY_PYTHON``. Without it the tests that need bindings are
skipped, unless ``ENGINE_SDK_TESTS_REQUIRE_BINDINGS=1`` (the plugins suite sets it), which
makes them fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Dict, Optional

SDK = Path(__file__).resolve().parent.parent
REPO = SDK.parent.parent
if str(SDK) not in sys.path:
    sys.path.insert(0, str(SDK))

_generated: Dict[str, Path] = {}
_keep = []  # temporary directories live as long as the test process


def _tool_python() -> Optional[Path]:
    named = os.environ.get("COMPONENTIZE_PY_PYTHON")
    if named:
        return Path(named)
    tools = Path(os.environ.get("ENGINE_TOOLS_DIR") or REPO / "target" / "plugin-tools")
    python = tools / "componentize-py-0.25.1" / "bin" / "python"
    return python if python.exists() else None


def bindings(world: str) -> Path:
    """The directory holding the bindings of ``world`` (``stage`` or ``source``), generated
    once per test process; skips (or fails, see the module doc) when they cannot be made."""
    if world in _generated:
        return _generated[world]
    required = os.environ.get("ENGINE_SDK_TESTS_REQUIRE_BINDINGS") == "1"
    python = _tool_python()
    problem = None
    if sys.version_info < (3, 11):
        problem = "componentize-py's bindings need Python 3.11+ on the host"
    elif python is None:
        problem = "componentize-py 0.25.1 is not installed (run `engine plugin build` once)"
    if problem:
        if required and python is None:
            raise AssertionError(problem)
        raise unittest.SkipTest(problem)
    out = tempfile.TemporaryDirectory(prefix=f"engine-sdk-{world}-")
    _keep.append(out)
    script = (
        "import sys; from componentize_py import script; "
        "sys.argv[0] = 'componentize-py'; sys.exit(script())"
    )
    wit = os.environ.get("ENGINE_WIT_DIR") or str(REPO / "wit")
    done = subprocess.run(
        [str(python), "-c", script, "-d", wit, "-w", world, "bindings", out.name],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise AssertionError(f"componentize-py bindings failed:\n{done.stdout}{done.stderr}")
    _generated[world] = Path(out.name)
    return _generated[world]


class WorldBindings:
    """``with WorldBindings("stage"):`` makes ``import wit_world`` load that world's bindings
    (and forgets them afterwards, so a test of the other world gets its own)."""

    def __init__(self, world: str) -> None:
        self.path = str(bindings(world))

    def __enter__(self) -> "WorldBindings":
        _forget()
        sys.path.insert(0, self.path)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.path.remove(self.path)
        _forget()


def _forget() -> None:
    for name in list(sys.modules):
        if name == "wit_world" or name.startswith("wit_world.") or name == "componentize_py_types":
            del sys.modules[name]
