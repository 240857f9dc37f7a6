"""Unit tests of the changelog check, run on this machine: `python3 -m unittest`.

They need the SDK (``engine_stage``) that `engine plugin build` keeps in .engine/sdk/python;
git's answers are played by a FakeHost, so neither git nor the engine is needed.
"""

import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".engine" / "sdk" / "python")]

from app import ChangelogCheck, changelog_changed, split_names  # noqa: E402
from engine_stage import Fatal, Success  # noqa: E402
from engine_stage.testing import FakeHost, reply, run_stage  # noqa: E402


class ChangelogChangedTest(unittest.TestCase):
    def test_the_file_must_be_among_the_changed_paths(self):
        changed = ["src/lib.rs", "docs/CHANGELOG.md"]
        self.assertFalse(changelog_changed(changed, "CHANGELOG.md"))
        self.assertTrue(changelog_changed(changed, "docs/CHANGELOG.md"))
        self.assertTrue(changelog_changed(changed, "./docs/CHANGELOG.md"))
        self.assertFalse(changelog_changed([], "CHANGELOG.md"))

    def test_git_z_output_is_split_on_nul(self):
        self.assertEqual(split_names("a b.md\0CHANGELOG.md\0"), ["a b.md", "CHANGELOG.md"])
        self.assertEqual(split_names(""), [])


class StageTest(unittest.TestCase):
    """The whole stage, with git's answers played by a FakeHost."""

    def run_with(self, diff, untracked, config=None):
        def git(command):
            return reply(command, stdout=diff if command.args[0] == "diff" else untracked)

        with FakeHost(exec=git) as host:
            result = run_stage(ChangelogCheck, config)
        return result, host

    def test_passes_when_the_changelog_changed_or_is_new(self):
        result, host = self.run_with("src/app.py\0CHANGELOG.md\0", "")
        self.assertIsInstance(result, Success)
        self.assertEqual(result.outputs["changed"], ["src/app.py", "CHANGELOG.md"])
        self.assertEqual(host.commands[0].args, ["diff", "--name-only", "-z", "0" * 40, "--"])
        result, _ = self.run_with("", "CHANGELOG.md\0")
        self.assertIsInstance(result, Success)

    def test_fails_naming_the_file_otherwise(self):
        result, _ = self.run_with("src/app.py\0", "", {"file": "NEWS.md"})
        self.assertIsInstance(result, Fatal)
        self.assertTrue(
            result.message.startswith("NEWS.md was not changed in this run"), result.message
        )
        self.assertEqual(result.detail["changed"], ["src/app.py"])


if __name__ == "__main__":
    unittest.main()
