"""Unit tests of the stage, run on this machine: `python3 -m unittest` in the project.

They need the SDK (``engine_stage``) that `engine plugin build` keeps in .engine/sdk/python;
nothing here needs the engine or componentize-py.
"""

import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".engine" / "sdk" / "python")]

from app import Plugin, marker_lines  # noqa: E402
from engine_stage import Fatal  # noqa: E402
from engine_stage.testing import FakeHost, run_stage  # noqa: E402


class MarkerLinesTest(unittest.TestCase):
    def test_lines_are_numbered_from_one(self):
        text = "# notes\nTODO: write docs\nfine\n- [ ] TODO tests\n"
        self.assertEqual(marker_lines(text, "TODO"), [2, 4])
        self.assertEqual(marker_lines(text, "FIXME"), [])


class StageTest(unittest.TestCase):
    """The whole stage, with a temporary directory as its workspace."""

    def test_counts_and_fails_above_max(self):
        with tempfile.TemporaryDirectory() as workspace:
            Path(workspace, "NOTES.md").write_text("TODO one\nok\nTODO two\n")
            with FakeHost() as host:
                ok = run_stage(Plugin, {"files": ["NOTES.md", "missing.md"]}, workspace=workspace)
                too_many = run_stage(Plugin, {"files": ["NOTES.md"], "max": 1}, workspace=workspace)
        self.assertEqual(ok.outputs, {"count": 2, "lines": ["NOTES.md:1", "NOTES.md:3"]})
        self.assertIn("missing.md: No such file or directory; skipped", host.messages("warn"))
        self.assertIsInstance(too_many, Fatal)
        self.assertIn("2 lines hold 'TODO', more than the 1 allowed", too_many.message)


if __name__ == "__main__":
    unittest.main()
