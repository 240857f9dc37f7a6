"""The component's side: the WitWorld classes converting to and from the records componentize-py
generates (real bindings, made by componentize-py 0.25.1; see support.py)."""

from __future__ import annotations

import io
import json
import unittest
from contextlib import redirect_stderr
from dataclasses import dataclass

import support

from engine_stage import (
    Delivery,
    NeedsAttention,
    Permissions,
    Retryable,
    Stage,
    Success,
    export,
)
from engine_stage.testing import FakeHost


class Check(Stage):
    """Checks things."""

    version = "1.2.3"
    permissions = Permissions(workspace="read", exec=["git"], net=["example.com"])
    delivery = Delivery.AT_MOST_ONCE

    def run(self, ctx):
        mode = ctx.config.get("mode")
        if mode == "raise":
            raise ValueError("bad config")
        if mode == "retry":
            raise Retryable("busy", detail={"status": 503})
        if mode == "attention":
            raise NeedsAttention("already done")
        if mode == "not-json":
            return Success("x", outputs={"s": {1, 2}})
        return Success(
            f"{ctx.task.title} @ {ctx.git.base_commit[:7]}",
            outputs={
                "earlier": ctx.outputs["gate"],
                "big": 2**64 - 1,
                "feedback": ctx.feedback.detail,
            },
        )


@dataclass
class Cfg:
    n: int


class Typed(Stage):
    config_class = Cfg

    def run(self, ctx):
        return Success(str(ctx.config.n))


class BrokenDescribe(Stage):
    def describe(self):
        raise RuntimeError("cannot describe")


def raw_context(wit, config="{}"):
    return wit.Context(
        run_id="R",
        stage_id="check",
        attempt=2,
        keys=wit.IdempotencyKeys(stage="R/check", attempt="R/check/2"),
        task=wit.Task(id="t1", title="Fix it", body="Fix it", labels=["x"]),
        config=config,
        outputs=[wit.StageOutputs(stage="gate", outputs='{"passed": true}')],
        feedback=wit.Feedback(
            from_stage="review", attempt=1, message="no", detail='{"findings": [1]}'
        ),
        interrupted=False,
        workspace="/workspace",
        previous_failure=None,
        git=wit.RunGit(
            branch="engine/t1", base_branch="main", base_commit="abcdef0123", repo_root="/r"
        ),
    )


class StageWorldTests(unittest.TestCase):
    def setUp(self):
        self.world = support.WorldBindings("stage").__enter__()
        self.addCleanup(self.world.__exit__)
        from wit_world.imports import types

        self.wit = types

    def test_describe_gives_the_generated_record(self):
        d = export(Check)().describe()
        self.assertIsInstance(d, self.wit.Descriptor)
        self.assertEqual((d.name, d.version, d.summary), ("check", "1.2.3", "Checks things."))
        self.assertEqual(d.config_schema, "{}")
        self.assertIs(d.permissions.workspace, self.wit.WorkspaceAccess.READ)
        self.assertEqual(
            (d.permissions.exec, d.permissions.agent, d.permissions.net),
            (["git"], False, ["example.com"]),
        )
        self.assertIs(d.delivery, self.wit.Delivery.AT_MOST_ONCE)
        schema = json.loads(export(Typed)().describe().config_schema)
        self.assertEqual(schema["required"], ["n"])

    def test_a_describe_that_raises_says_so_on_stderr_then_traps(self):
        from engine_stage._wit import DescribeFailed

        err = io.StringIO()
        with redirect_stderr(err), self.assertRaises(DescribeFailed) as caught:
            export(BrokenDescribe)().describe()
        self.assertEqual(
            str(caught.exception), "BrokenDescribe.describe() failed: RuntimeError: cannot describe"
        )
        self.assertIsNone(caught.exception.__cause__)
        self.assertIn('raise RuntimeError("cannot describe")', err.getvalue())

    def test_run_parses_the_context_and_returns_the_record(self):
        out = export(Check)().run(raw_context(self.wit))
        self.assertIsInstance(out, self.wit.Success)
        self.assertEqual(out.summary, "Fix it @ abcdef0")
        self.assertEqual(
            json.loads(out.outputs),
            {"earlier": {"passed": True}, "big": 2**64 - 1, "feedback": {"findings": [1]}},
        )

    def failure(self, stage, config):
        from componentize_py_types import Err

        with FakeHost() as host, self.assertRaises(Err) as caught:
            export(stage)().run(raw_context(self.wit, json.dumps(config)))
        return caught.exception.value, host

    def test_an_uncaught_exception_becomes_a_fatal_error_with_its_text(self):
        error, host = self.failure(Check, {"mode": "raise"})
        self.assertIsInstance(error, self.wit.StageError_Fatal)
        self.assertEqual(error.value.message, "ValueError: bad config")
        detail = json.loads(error.value.detail)
        self.assertEqual(detail["exception"], "builtins.ValueError")
        self.assertIn('raise ValueError("bad config")', detail["traceback"])
        self.assertTrue(host.messages("error"))

    def test_typed_errors_map_to_the_variant(self):
        error, _ = self.failure(Check, {"mode": "retry"})
        self.assertIsInstance(error, self.wit.StageError_Retryable)
        self.assertEqual(
            (error.value.message, json.loads(error.value.detail)), ("busy", {"status": 503})
        )
        error, _ = self.failure(Check, {"mode": "attention"})
        self.assertIsInstance(error, self.wit.StageError_Fatal)
        self.assertEqual(
            json.loads(error.value.detail), {"needs_attention": True, "reason": "already done"}
        )

    def test_outputs_that_are_not_json_and_bad_configs_are_fatal(self):
        error, _ = self.failure(Check, {"mode": "not-json"})
        self.assertIn("Success.outputs must be JSON", error.value.message)
        error, _ = self.failure(Typed, {"n": "3"})
        self.assertEqual(
            error.value.message, "invalid config: config key 'n': expected integer, got string '3'"
        )
        self.assertEqual(error.value.detail, '{"config":{"n":"3"}}')

    def test_exec_goes_through_the_generated_import(self):
        from componentize_py_types import Err
        from wit_world.imports import exec as wit_exec

        from engine_stage import _host, exec

        sent = []

        def fake_run(command):
            sent.append(command)
            if command.program == "nope":
                raise Err(wit_exec.ExecError_NotPermitted("`nope` is not granted to stage check"))
            return wit_exec.Output(
                exit_code=1,
                signal=None,
                timed_out=False,
                stdout="",
                stderr="boom\n",
                stdout_bytes=0,
                stderr_bytes=5,
                duration_ms=7,
            )

        original = wit_exec.run
        wit_exec.run = fake_run
        previous = _host.install(_host._WitHost())
        try:
            out = exec.run("git", ["status"], timeout=1.5)
            with self.assertRaises(exec.NotPermitted) as caught:
                exec.run("nope")
        finally:
            wit_exec.run = original
            _host.install(previous)
        self.assertEqual(
            (sent[0].program, sent[0].args, sent[0].timeout_ms, sent[0].cwd),
            ("git", ["status"], 1500, None),
        )
        self.assertEqual(
            (out.exit_code, out.stderr, out.duration_ms, out.ok), (1, "boom\n", 7, False)
        )
        self.assertEqual(str(caught.exception), "`nope` is not granted to stage check")

    def test_agent_events_and_summaries_are_converted(self):
        from wit_world.imports import agent as wit_agent

        from engine_stage import agent

        event = agent.event_from_raw(
            wit_agent.Event_ToolStarted(wit_agent.ToolCall(id="1", name="Bash", input="{}"))
        )
        self.assertEqual(event, agent.Event("tool-started", agent.ToolCall("1", "Bash", "{}")))
        self.assertEqual(
            agent.event_from_raw(wit_agent.Event_RateLimited(None)),
            agent.Event("rate-limited", None),
        )
        usage = wit_agent.Usage(
            input_tokens=3, output_tokens=4, cache_read_tokens=0, cache_write_tokens=0, cost_usd=0.5
        )
        summary = agent.summary_from_raw(
            wit_agent.Summary(
                outcome=wit_agent.Outcome.MAX_TURNS,
                result_text="",
                session_id="s",
                turns=9,
                usage=usage,
                duration_ms=10,
                exit_code=0,
                detail="limit",
                resets_at_ms=None,
                files_changed=["a.py"],
            )
        )
        self.assertIs(summary.outcome, agent.Outcome.MAX_TURNS)
        self.assertEqual((summary.usage.output_tokens, summary.files_changed), (4, ["a.py"]))
        # Every WIT outcome and event case has its Python name.
        self.assertEqual({o.name for o in wit_agent.Outcome}, {o.name for o in agent.Outcome})


if __name__ == "__main__":
    unittest.main()
