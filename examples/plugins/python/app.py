"""changelog-check: an engine stage that passes when the run changed CHANGELOG.md.

It asks git which files differ between the run's base commit (``ctx.git.base_commit``) and the
worktree, committed or not, plus the new files git does not track yet, and fails with a clear
message when the changelog is not among them. The decision is a plain function
(``changelog_changed``), tested on this machine with ``python3 -m unittest``.
"""

import posixpath
from dataclasses import dataclass
from typing import List

from engine_stage import Context, Fatal, Permissions, Stage, Success, exec, export, log


@dataclass
class Config:
    """The stage's ``with:`` block."""

    #: The changelog, relative to the repository's root.
    file: str = "CHANGELOG.md"


class ChangelogCheck(Stage):
    """Passes when the run's diff changes the changelog (CHANGELOG.md)."""

    name = "changelog-check"
    version = "0.1.0"
    config_class = Config
    # Read the worktree and run git in it; nothing else.
    permissions = Permissions(workspace="read", exec=["git"])

    def run(self, ctx: Context[Config]) -> Success:
        file = ctx.config.file
        if ctx.git is None:
            raise Fatal("this run has no git worktree, so there is no diff to check")
        base = ctx.git.base_commit
        diff = exec.run("git", ["diff", "--name-only", "-z", base, "--"], timeout=60).check()
        new = exec.run(
            "git", ["ls-files", "--others", "--exclude-standard", "-z"], timeout=60
        ).check()
        changed = split_names(diff.stdout) + split_names(new.stdout)
        log.info(f"{len(changed)} file(s) changed since {base[:10]}")
        if not changelog_changed(changed, file):
            raise Fatal(
                f"{file} was not changed in this run: add an entry that describes the change "
                f"({len(changed)} other file(s) changed since the base commit {base[:10]})",
                detail={"file": file, "base_commit": base, "changed": changed},
            )
        return Success(f"{file} was changed", outputs={"file": file, "changed": changed})


def split_names(output: str) -> List[str]:
    """The paths of git's ``-z`` output (NUL-separated)."""
    return [name for name in output.split("\0") if name]


def changelog_changed(changed: List[str], file: str) -> bool:
    """Whether ``file`` (``CHANGELOG.md``, ``./docs/CHANGELOG.md``) is among the ``changed``
    paths git printed (relative to the repository's root)."""
    return posixpath.normpath(file.strip()) in changed


# componentize-py calls the class named WitWorld: the SDK makes it from the stage.
WitWorld = export(ChangelogCheck)
