"""exec.run, Output.check, log and progress against a FakeHost, and outside the engine."""

from __future__ import annotations

import datetime
import io
import unittest
from contextlib import redirect_stderr
from pathlib import PurePosixPath

import support  # noqa: F401

from engine_stage import Fatal, exec, log, progress
from engine_stage.exec import CommandFailed, NotPermitted
from engine_stage.testing import FakeHost, reply


class ExecTests(unittest.TestCase):
    def test_the_command_reaches_the_host_as_given(self):
        with FakeHost(exec=lambda c: reply(c, stdout="ok\n")) as host:
            out = exec.run(
                "git",
                ["diff", PurePosixPath("a/b")],
                cwd="sub",
                env={"GIT_PAGER": "cat"},
                timeout=2.5,
                output_cap=1024,
            )
            exec.run("git", timeout=datetime.timedelta(minutes=1))
        self.assertEqual(out.stdout, "ok\n")
        self.assertTrue(out.ok)
        first, second = host.commands
        self.assertEqual(
            (first.program, first.args, first.cwd, first.env, first.timeout_ms, first.output_cap),
            ("git", ["diff", "a/b"], "sub", [("GIT_PAGER", "cat")], 2500, 1024),
        )
        self.assertEqual((second.args, second.cwd, second.timeout_ms), ([], None, 60000))

    def test_check_raises_a_fatal_error_naming_the_command_and_its_stderr(self):
        with FakeHost(exec=lambda c: reply(c, stderr="fatal: bad revision\nmore\n", exit_code=128)):
            out = exec.run("git", ["diff", "nope"])
        self.assertFalse(out.ok)
        with self.assertRaises(CommandFailed) as caught:
            out.check()
        err = caught.exception
        self.assertIsInstance(err, Fatal)
        self.assertEqual(
            err.message,
            "`git diff nope` failed (exit code 128): fatal: bad revision "
            "(+1 more lines in the detail)",
        )
        self.assertEqual(err.detail["command"], ["git", "diff", "nope"])
        self.assertEqual(err.detail["stderr"], "fatal: bad revision\nmore\n")
        self.assertIs(reply(out.command).check().command, out.command)

    def test_how_it_ended_in_words(self):
        from engine_stage.exec import Command, Output

        c = Command("x")
        self.assertEqual(Output(c, exit_code=None, signal=9).status_text(), "killed by signal 9")
        timed_out = Output(c, exit_code=None, timed_out=True, duration_ms=5)
        self.assertEqual(timed_out.status_text(), "timed out after 5 ms")
        self.assertFalse(timed_out.ok)

    def test_host_refusals_are_fatal_errors(self):
        def refuse(command):
            raise NotPermitted(command, "`curl` is not granted to stage check")

        with FakeHost(exec=refuse), self.assertRaises(NotPermitted) as caught:
            exec.run("curl", ["x"])
        self.assertIsInstance(caught.exception, Fatal)
        self.assertEqual(caught.exception.kind, "not-permitted")
        self.assertEqual(str(caught.exception), "`curl` is not granted to stage check")

    def test_arguments_are_checked(self):
        for call, message in [
            (lambda: exec.run("git", "status"), "args must be a list of strings"),
            (lambda: exec.run("git", ["log", 3]), "argument 3 is not a string"),
            (lambda: exec.run(""), "program must be a non-empty string"),
        ]:
            with self.assertRaises(TypeError) as caught:
                call()
            self.assertIn(message, str(caught.exception))

    def test_outside_the_engine_programs_are_refused_and_logs_go_to_stderr(self):
        from engine_stage import _host

        previous = _host.install(_host._OffHost())
        try:
            with self.assertRaises(RuntimeError) as caught:
                exec.run("git", ["status"])
            self.assertIn("engine_stage.testing.FakeHost", str(caught.exception))
            err = io.StringIO()
            with redirect_stderr(err):
                log.info("hello")
            self.assertEqual(err.getvalue(), "[info] hello\n")
        finally:
            _host.install(previous)


class LogTests(unittest.TestCase):
    def test_levels_and_progress(self):
        with FakeHost() as host:
            log.trace("t")
            log.debug("d")
            log.info(3)
            log.warn("w")
            log.warning("w2")
            log.error("e")
            progress("half", 0.5)
            progress("over", 7)
            log.progress("unknown")
        self.assertEqual(
            host.logs,
            [
                ("trace", "t"),
                ("debug", "d"),
                ("info", "3"),
                ("warn", "w"),
                ("warn", "w2"),
                ("error", "e"),
            ],
        )
        self.assertEqual(host.progress_reports, [("half", 0.5), ("over", 1.0), ("unknown", None)])


if __name__ == "__main__":
    unittest.main()
