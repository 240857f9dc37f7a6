"""Task sources: the Source base class, the calls as the engine makes them, and the records."""

from __future__ import annotations

import io
import json
import unittest
from contextlib import redirect_stderr
from dataclasses import dataclass

import support

from engine_stage import Permissions
from engine_stage.source import (
    Conflict,
    Diagnostic,
    Failed,
    InvalidConfig,
    Location,
    Malformed,
    Source,
    Task,
    TaskList,
    TaskStatus,
    Unsupported,
    export,
)
from engine_stage.source._wit import call
from engine_stage.testing import FakeHost


@dataclass
class Cfg:
    path: str = "tasks.txt"


class Todo(Source):
    """Tasks from a text file."""

    config_class = Cfg
    permissions = Permissions(workspace="read")

    def list_tasks(self, config):
        if config.path == "broken":
            raise Malformed([Diagnostic("no title", Location("tasks.txt", 3))])
        if config.path == "crash":
            return {}["missing"]
        return TaskList(
            tasks=[
                Task(id="a", title="A", status="in-progress", depends_on=["b"]),
                Task(id="b", title="B"),
            ],
            warnings=[Diagnostic("odd line", Location("tasks.txt", 9))],
        )

    def claim(self, config, id, claimant):
        if id == "b":
            raise Conflict("b is held by someone else")
        return Task(id=id, title="A", status=TaskStatus.IN_PROGRESS)


class CallTests(unittest.TestCase):
    def test_describe_comes_from_the_class(self):
        d = Todo().describe()
        self.assertEqual((d.name, d.summary), ("todo", "Tasks from a text file."))
        self.assertEqual(
            d.config_schema["properties"]["path"], {"type": "string", "default": "tasks.txt"}
        )

    def test_results_errors_and_exceptions(self):
        listed = call(Todo, "", lambda s, c: s.list_tasks(c))
        self.assertEqual([t.id for t in listed.tasks], ["a", "b"])
        self.assertIs(listed.tasks[0].status, TaskStatus.IN_PROGRESS)
        self.assertEqual(listed.tasks[0].raw_status, "in-progress")
        broken = call(Todo, '{"path": "broken"}', lambda s, c: s.list_tasks(c))
        self.assertIsInstance(broken, Malformed)
        self.assertEqual(str(broken), "tasks.txt:3: no title")
        with FakeHost() as host:
            crash = call(Todo, '{"path": "crash"}', lambda s, c: s.list_tasks(c))
        self.assertIsInstance(crash, Failed)
        self.assertEqual(crash.message, "KeyError: 'missing'")
        self.assertIn("KeyError", host.messages("error")[0])
        bad = call(Todo, '{"path": 3}', lambda s, c: s.list_tasks(c))
        self.assertIsInstance(bad, InvalidConfig)
        self.assertEqual(bad.message, "config key 'path': expected string, got integer 3")
        self.assertIsInstance(call(Todo, "{", lambda s, c: s.list_tasks(c)), InvalidConfig)
        unsupported = call(Todo, "", lambda s, c: s.update(c, "a", TaskStatus.DONE, None))
        self.assertIsInstance(unsupported, Unsupported)

    def test_tasks_are_checked(self):
        with self.assertRaises(ValueError) as caught:
            Task(id="a", title="A", status="finished")
        self.assertIn(
            "task a: status must be one of 'todo', 'in-progress', 'done', 'blocked'",
            str(caught.exception),
        )
        with self.assertRaises(ValueError):
            Task(id="a", title="A", priority=300)


class SourceWorldTests(unittest.TestCase):
    def setUp(self):
        self.world = support.WorldBindings("source").__enter__()
        self.addCleanup(self.world.__exit__)

    def test_the_exports_give_and_raise_the_generated_records(self):
        from componentize_py_types import Err
        from wit_world.imports import source_types as wit

        world = export(Todo)()
        d = world.describe()
        self.assertEqual((d.name, json.loads(d.config_schema)["type"]), ("todo", "object"))
        listed = world.list_tasks("{}")
        self.assertIsInstance(listed, wit.TaskList)
        self.assertIs(listed.tasks[0].status, wit.TaskStatus.IN_PROGRESS)
        self.assertEqual((listed.tasks[0].depends_on, listed.tasks[1].priority), (["b"], 2))
        self.assertEqual(
            (listed.warnings[0].location.line, listed.warnings[0].message), (9, "odd line")
        )
        self.assertEqual(world.claim("{}", "a", "run-1").id, "a")
        with self.assertRaises(Err) as caught:
            world.claim("{}", "b", "run-1")
        self.assertEqual(
            caught.exception.value, wit.SourceError_Conflict("b is held by someone else")
        )
        with self.assertRaises(Err) as caught:
            world.list_tasks('{"path": "broken"}')
        self.assertIsInstance(caught.exception.value, wit.SourceError_Malformed)
        self.assertEqual(caught.exception.value.value[0].location.line, 3)
        with self.assertRaises(Err) as caught:
            world.update("{}", "a", wit.TaskStatus.DONE, "note")
        self.assertIsInstance(caught.exception.value, wit.SourceError_Unsupported)

    def test_a_describe_that_raises_traps_with_its_message_last(self):
        from engine_stage._wit import DescribeFailed

        class Bad(Source):
            permissions = "read"  # not a Permissions

        with redirect_stderr(io.StringIO()), self.assertRaises(DescribeFailed) as caught:
            export(Bad)().describe()
        self.assertIn("Bad.describe() failed: AttributeError", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
