"""{{name}}: an engine stage. It counts the lines that hold a marker (``TODO`` by default) in
the files its config names, logs what it found, returns the count as an output, and fails when
there are more than ``max``.

``engine plugin build`` builds it into dist/{{name}}.wasm with componentize-py; workflow.yaml
runs it. The logic worth testing is in plain functions (``marker_lines``), tested on this
machine with ``python3 -m unittest``. The SDK, ``engine_stage``, is in .engine/sdk/python.
"""

from dataclasses import dataclass, field
from typing import List, Optional

from engine_stage import Context, Fatal, Permissions, Stage, Success, export, log


@dataclass
class Config:
    """The stage's ``with:`` block in the workflow (its JSON Schema is derived from this)."""

    #: Files to read, relative to the repository's root.
    files: List[str] = field(default_factory=lambda: ["README.md"])
    #: The text to look for.
    marker: str = "TODO"
    #: Fail when more lines than this hold the marker (no limit when absent).
    max: Optional[int] = None


class Plugin(Stage):
    """Counts the lines holding a marker (TODO) in some files."""

    name = "{{name}}"
    version = "0.1.0"
    config_class = Config
    # Read the run's worktree (mounted at /workspace); nothing else.
    permissions = Permissions(workspace="read")

    def run(self, ctx: Context[Config]) -> Success:
        config = ctx.config
        found: List[str] = []
        for file in config.files:
            try:
                text = ctx.path(file).read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                log.warn(f"{file}: {e.strerror}; skipped")
                continue
            lines = marker_lines(text, config.marker)
            log.info(f"{file}: {len(lines)} line(s) hold {config.marker!r}")
            found.extend(f"{file}:{line}" for line in lines)
        if config.max is not None and len(found) > config.max:
            raise Fatal(
                f"{len(found)} lines hold {config.marker!r}, more than the {config.max} allowed: "
                + ", ".join(found),
                detail={"lines": found},
            )
        return Success(
            f"{len(found)} line(s) hold {config.marker!r}",
            outputs={"count": len(found), "lines": found},
        )


def marker_lines(text: str, marker: str) -> List[int]:
    """The 1-based numbers of the lines of ``text`` that contain ``marker``."""
    return [number for number, line in enumerate(text.splitlines(), 1) if marker in line]


# componentize-py calls the class named WitWorld: the SDK makes it from the stage.
WitWorld = export(Plugin)
