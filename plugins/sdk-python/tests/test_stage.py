"""The Stage base class and one attempt run the way the engine runs it (no bindings needed)."""

from __future__ import annotations

import unittest
from dataclasses import dataclass, field
from typing import List, Optional

import support  # noqa: F401  (puts the SDK on sys.path)

from engine_stage import Fatal, NeedsAttention, Permissions, Retryable, Stage, Success
from engine_stage.testing import FakeHost, make_context, run_stage


class ChangelogCheck(Stage):
    """Passes when the run changed the changelog.

    More text that is not the summary."""

    permissions = Permissions(workspace="read", exec=["git"])


@dataclass
class Config:
    file: str
    strict: bool = False
    labels: List[str] = field(default_factory=list)
    limit: Optional[int] = None


class Configured(Stage):
    config_class = Config

    def run(self, ctx):
        return Success(f"file={ctx.config.file}", outputs={"strict": ctx.config.strict})


class DescribeTests(unittest.TestCase):
    def test_describe_comes_from_the_class(self):
        d = ChangelogCheck().describe()
        self.assertEqual(d.name, "changelog-check")
        self.assertEqual(d.version, "0.1.0")
        self.assertEqual(d.summary, "Passes when the run changed the changelog.")
        self.assertEqual(d.permissions.workspace.value, "read")
        self.assertEqual(d.permissions.exec, ["git"])
        self.assertEqual(d.config_schema_json(), "{}")
        self.assertEqual(d.delivery.value, "at-least-once")

    def test_the_schema_is_derived_from_the_config_class(self):
        schema = Configured().describe().config_schema
        self.assertEqual(schema["required"], ["file"])
        self.assertFalse(schema["additionalProperties"])
        self.assertEqual(schema["properties"]["file"], {"type": "string"})
        self.assertEqual(schema["properties"]["strict"], {"type": "boolean", "default": False})
        self.assertEqual(
            schema["properties"]["labels"],
            {"type": "array", "items": {"type": "string"}, "default": []},
        )
        self.assertEqual(
            schema["properties"]["limit"], {"type": ["integer", "null"], "default": None}
        )


class RunTests(unittest.TestCase):
    def test_success_and_a_bare_string(self):
        class Ok(Stage):
            def run(self, ctx):
                return Success("done").output("n", 3)

        class Text(Stage):
            def run(self, ctx):
                return f"title was {ctx.task.title}"

        ok = run_stage(Ok)
        self.assertEqual((ok.summary, ok.outputs), ("done", {"n": 3}))
        self.assertEqual(run_stage(Text, task="Fix it").summary, "title was Fix it")

    def test_typed_errors_keep_their_kind_message_and_detail(self):
        class Flaky(Stage):
            def run(self, ctx):
                raise Retryable("server busy", detail={"status": 503})

        class Broken(Stage):
            def run(self, ctx):
                raise Fatal("no changelog").with_detail(file="CHANGELOG.md")

        class Vague(Stage):
            def run(self, ctx):
                raise NeedsAttention("the task is already done", pr=7)

        flaky = run_stage(Flaky)
        self.assertTrue(flaky.retryable)
        self.assertEqual((flaky.message, flaky.detail), ("server busy", {"status": 503}))
        broken = run_stage(Broken)
        self.assertFalse(broken.retryable)
        self.assertEqual(broken.detail, {"file": "CHANGELOG.md"})
        vague = run_stage(Vague)
        self.assertEqual(vague.message, "needs attention: the task is already done")
        self.assertEqual(
            vague.detail, {"needs_attention": True, "reason": "the task is already done", "pr": 7}
        )

    def test_an_uncaught_exception_is_fatal_with_its_text_and_traceback(self):
        class Raises(Stage):
            def run(self, ctx):
                return helper(ctx.config)

        def helper(config):
            raise ValueError(f"bad config: {config['mode']}")

        with FakeHost() as host:
            err = run_stage(Raises, config={"mode": "x"})
        self.assertIsInstance(err, Fatal)
        self.assertEqual(err.message, "ValueError: bad config: x")
        self.assertEqual(err.detail["exception"], "builtins.ValueError")
        self.assertIn("in helper", err.detail["traceback"])
        self.assertIn("helper", err.detail["at"])
        # The SDK's own frame is left out; the author's frames stay.
        self.assertNotIn("call_run", err.detail["traceback"])
        self.assertIn("ValueError: bad config: x", host.messages("error")[0])

    def test_an_exception_without_text_is_named_by_its_type(self):
        class Raises(Stage):
            def run(self, ctx):
                raise KeyError

        with FakeHost():
            self.assertEqual(run_stage(Raises).message, "KeyError")

    def test_returning_something_else_is_a_fatal_error_that_says_what_to_return(self):
        class Wrong(Stage):
            def run(self, ctx):
                return {"ok": True}

        with FakeHost():
            err = run_stage(Wrong)
        self.assertIsInstance(err, Fatal)
        self.assertIn("Wrong.run returned dict", err.message)
        self.assertIn("engine_stage.Success", err.message)

    def test_run_not_written_says_so(self):
        with FakeHost():
            self.assertIn(
                "ChangelogCheck.run is not written yet", run_stage(ChangelogCheck).message
            )


class ConfigTests(unittest.TestCase):
    def test_no_config_is_an_empty_dict(self):
        class Echo(Stage):
            def run(self, ctx):
                return Success(str(ctx.config))

        self.assertEqual(run_stage(Echo).summary, "{}")

    def test_a_config_class_is_built_and_checked(self):
        self.assertEqual(run_stage(Configured, config={"file": "NEWS"}).summary, "file=NEWS")
        cases = {
            "config key 'file': expected string, got integer 3": {"file": 3},
            "config key 'file' is required": {},
            "unknown config key 'fiel' (known keys: file, labels, limit, strict)": {"fiel": "x"},
            "config key 'labels': item 1: expected string, got integer 2": {
                "file": "x",
                "labels": ["a", 2],
            },
            "config key 'strict': expected boolean, got string 'yes'": {
                "file": "x",
                "strict": "yes",
            },
            "config key 'limit': expected integer or null, got boolean True": {
                "file": "x",
                "limit": True,
            },
            "the config must be a mapping (with: {...}), not array": ["file"],
        }
        for message, config in cases.items():
            err = run_stage(Configured, config=config)
            self.assertIsInstance(err, Fatal, config)
            self.assertEqual(err.message, f"invalid config: {message}")
            self.assertEqual(err.detail, {"config": config})


class ContextTests(unittest.TestCase):
    def test_path_needs_a_workspace(self):
        self.assertEqual(str(make_context().path("CHANGELOG.md")), "/workspace/CHANGELOG.md")
        with self.assertRaises(Fatal) as caught:
            make_context(workspace=None).path("x")
        self.assertIn("has no workspace", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
