"""Unit tests of the task source, run on this machine: `python3 -m unittest` in the project.

They need the SDK (``engine_stage``) that `engine plugin build` keeps in .engine/sdk/python;
nothing here needs the engine or componentize-py.
"""

import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".engine" / "sdk" / "python")]

from app import parse_tasks  # noqa: E402
from engine_stage.source import TaskStatus  # noqa: E402


class ParseTasksTest(unittest.TestCase):
    def test_each_line_is_a_task_with_its_status(self):
        tasks, problems = parse_tasks(
            "# tasks\n\n- [x] setup: Set up\n- [ ] hello: Say hello: twice\n", "tasks.txt"
        )
        self.assertEqual(problems, [])
        self.assertEqual(
            [(t.id, t.title, t.status) for t in tasks],
            [("setup", "Set up", TaskStatus.DONE), ("hello", "Say hello: twice", TaskStatus.TODO)],
        )
        self.assertEqual(str(tasks[1].location), "tasks.txt:4")

    def test_malformed_lines_are_all_reported_with_their_line(self):
        _, problems = parse_tasks("- [ ] a: A\nfree text\n- [ ] a: again\n", "t.txt")
        self.assertEqual([p.location.line for p in problems], [2, 3])


if __name__ == "__main__":
    unittest.main()
