"""{{name}}: an engine task source. It lists the tasks of a text file in the repository, one
per line::

    # comments and blank lines are skipped
    - [ ] hello: Say hello in the README
    - [x] setup: Set up the project

``engine plugin build`` builds it into dist/{{name}}.wasm with componentize-py; workflow.yaml
takes its tasks from it. The parsing is a plain function (``parse_tasks``), tested on this
machine with ``python3 -m unittest``. The SDK, ``engine_stage``, is in .engine/sdk/python.
"""

from dataclasses import dataclass
from typing import List

from engine_stage import Permissions
from engine_stage.source import (
    Diagnostic,
    InvalidConfig,
    Location,
    Malformed,
    Source,
    Task,
    TaskStatus,
    export,
)


@dataclass
class Config:
    """The source's config: the workflow's ``tasks:`` mapping without ``source``, ``sha256``
    and ``permissions``."""

    #: The tasks file, relative to the repository's root.
    path: str = "tasks.txt"


class Plugin(Source):
    """Tasks from a text file, one `- [ ] ID: title` per line."""

    name = "{{name}}"
    version = "0.1.0"
    config_class = Config
    # `list_tasks` reads the repository (mounted read-only at /workspace); nothing else.
    permissions = Permissions(workspace="read")

    def list_tasks(self, config: Config) -> List[Task]:
        path = config.path[2:] if config.path.startswith("./") else config.path
        try:
            with open(f"/workspace/{path}", encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise InvalidConfig(f"cannot read {path}: {e.strerror}") from None
        tasks, problems = parse_tasks(text, path)
        if problems:
            raise Malformed(problems)
        return tasks


def parse_tasks(text: str, file: str):
    """The tasks of ``text`` (the content of ``file``) and every malformed line, located."""
    tasks: List[Task] = []
    problems: List[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        at = Location(file, number)
        if line.startswith("- [ ] "):
            status = TaskStatus.TODO
        elif line.startswith("- [x] "):
            status = TaskStatus.DONE
        else:
            problems.append(
                Diagnostic("expected `- [ ] ID: title` (or `- [x]` for a done task)", at)
            )
            continue
        id, _, title = line[6:].partition(":")
        id, title = id.strip(), title.strip()
        if not id or " " in id or not title:
            problems.append(Diagnostic("expected `ID: title` after the box", at))
        elif any(t.id == id for t in tasks):
            problems.append(Diagnostic(f"task {id} is listed twice", at))
        else:
            tasks.append(Task(id=id, title=title, status=status, priority=1, location=at))
    return tasks, problems


# componentize-py calls the class named WitWorld: the SDK makes it from the source.
WitWorld = export(Plugin)
