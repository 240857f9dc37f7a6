"""The world the web and MCP tests run in: a temporary git repository with a tasks.md and a
workflow whose agent is engine's scripted agent, `engine serve` as a subprocess, the JSON API,
and waiting for conditions with a deadline (never a sleep that orders events).

Nothing here builds anything: the `engine` binary is target/debug/engine (ENGINE_BIN
overrides), built by the Rust part of scripts/test.sh.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
ENGINE = Path(os.environ.get("ENGINE_BIN", ROOT / "target" / "debug" / "engine")).resolve()
ARTIFACTS = ROOT / "target" / "web-artifacts"
# Compiled components, shared by every test (compiling the built-in stages is the slow part of
# a first run).
CACHE = ROOT / "target" / "web-tests" / "component-cache"

# How long a test waits for something that must happen; only a broken test reaches it.
PATIENCE = 60.0

RUN_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")


def wait_until(condition: Callable[[], Any], what: str, timeout: float = PATIENCE,
               diagnostics: Callable[[], str] | None = None) -> Any:
    """Polls `condition` until it returns something truthy (returned), or fails naming `what`
    after `timeout` seconds. Exceptions of the condition count as "not yet" (the last one is
    reported)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - reported below
            last = err
        if time.monotonic() > deadline:
            message = f"timed out after {timeout:.0f} s waiting for {what}"
            if last is not None:
                message += f"\nlast error: {type(last).__name__}: {last}"
            if diagnostics is not None:
                message += "\n" + diagnostics()
            raise AssertionError(message)
        time.sleep(0.05)


def engine_env() -> dict[str, str]:
    """The environment of every engine process the tests start."""
    env = dict(os.environ)
    for name in ("ENGINE_STATE_DIR", "ENGINE_DEBUG_HOLD", "ENGINE_SERVE_TOKEN",
                 "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(name, None)
    env["ENGINE_CACHE_DIR"] = str(CACHE)
    env["RUST_LOG"] = "warn"
    env["PATH"] = f"{ENGINE.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def git(cwd: Path, *args: str) -> str:
    """Runs git with an identity; fails the test when git fails."""
    out = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    assert out.returncode == 0, f"git {args} failed: {out.stderr}"
    return out.stdout


class Agent:
    """The scripted agent (`engine scripted-agent`) playing a script, with a directory its
    sessions may write (handshake files, markers)."""

    def __init__(self, base: Path, script: str):
        self.dir = base
        self.dir.mkdir(parents=True, exist_ok=True)
        self.scratch = self.dir / "scratch"
        self.scratch.mkdir(exist_ok=True)
        # `{scratch}` in the script is this directory.
        (self.dir / "script.yaml").write_text(script.replace("{scratch}", str(self.scratch)))

    def backends_yaml(self) -> str:
        """`agents:` with claude played by this agent, allowed to write its own directory."""
        command = (f"[{ENGINE}, scripted-agent, --script, {self.dir / 'script.yaml'}, "
                   f"--state, {self.dir / 'state'}, --as, claude]")
        return f"agents:\n  backends:\n    claude: {{ command: {command}, write: [{self.dir}] }}\n"

    def file(self, name: str) -> Path:
        """A file in the scratch directory."""
        return self.scratch / name

    def go(self, name: str = "go") -> None:
        """Creates the file a scripted `wait_for` step waits for."""
        self.file(name).write_text("")

    def processes(self) -> list[int]:
        """Pids of the processes whose command line names this agent's directory (the agent
        itself and the commands its script runs)."""
        found = []
        needle = str(self.dir).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if needle in cmdline:
                found.append(int(entry.name))
        return found


def wait_for_step(name: str) -> str:
    """A script step that touches `<name>.started` in the scratch directory, then waits until
    the test creates `<name>` there (see Agent.go)."""
    return (f'  - run: "touch {{scratch}}/{name}.started; '
            f'while [ ! -e {{scratch}}/{name} ]; do sleep 0.05; done"\n')


TASKS_MD = """# Tasks

## Milestone 1: Web

### TASK-1: Write the greeting notes
P1 | TODO

Append a line to notes.txt.

### TASK-2: Extend the greeting notes
P2 | TODO

**Depends on:** [TASK-1]

### TASK-3: Set up the project
P0 | DONE
"""


class Repo:
    """A temporary git repository (one commit on main: README.md, spec/tasks.md) with a
    workflow.yaml (untracked) taking its tasks from spec/tasks.md."""

    def __init__(self, path: Path, tasks: str = TASKS_MD):
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        git(self.path, "init", "-q", "-b", "main")
        self.write("README.md", "# web test\n")
        self.write("spec/tasks.md", tasks)
        git(self.path, "add", ".")
        git(self.path, "commit", "-q", "-m", "initial")

    def write(self, rel: str, text: str) -> Path:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text()

    def workflow(self, agent: Agent, stages: str, top: str = "") -> Path:
        """Writes workflow.yaml: the tasks section, `top`, the agent, then `stages` (YAML,
        indented under `stages:`)."""
        text = ("name: web\n"
                "tasks: { source: tasks-md, path: spec/tasks.md, "
                "permissions: { workspace: write } }\n"
                "budget: { run_usd: 5, day_usd: 20 }\n"
                f"{top}{agent.backends_yaml()}stages:\n{stages}")
        return self.write("workflow.yaml", text)

    def engine(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs `engine ARGS` in the repository to completion."""
        out = subprocess.run([str(ENGINE), *args], cwd=self.path, env=engine_env(),
                             capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             timeout=PATIENCE, check=False)
        if check:
            assert out.returncode == 0, (f"engine {args} exited {out.returncode}\n"
                                         f"stdout: {out.stdout}\nstderr: {out.stderr}")
        return out


# The stages most tests use: the scripted agent works on the task, then the run branch is
# squashed onto main (and the task written back as done).
EXECUTE = """  execute:
    uses: builtin:agent
    with: { backend: claude, completion: promise }
    permissions: { workspace: write, agent: true }
    retry: { max_attempts: 1 }
"""
MERGE_AFTER = """  merge:
    uses: builtin:merge
    needs: [{after}]
    permissions: {{ workspace: read, exec: [git] }}
    retry: {{ max_attempts: 1 }}
"""


class ApiError(Exception):
    """An HTTP error answer of the API: status and body."""

    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Server:
    """`engine serve WORKFLOW --listen 127.0.0.1:0` in the repository, in its own process
    group; its stderr goes to a file (shown when a test fails)."""

    def __init__(self, repo: Repo, workflow: str = "workflow.yaml", *extra: str):
        self.repo = repo
        self.stderr_path = repo.path.parent / "serve.stderr"
        self.stdout_path = repo.path.parent / "serve.stdout"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self._stdout = open(self.stdout_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(ENGINE), "serve", workflow, "--listen", "127.0.0.1:0", *extra],
            cwd=repo.path, env=engine_env(), stdin=subprocess.DEVNULL, stdout=self._stdout,
            stderr=self._stderr, start_new_session=True)
        self.url = wait_until(self._listening, "`engine serve` to say where it listens",
                              diagnostics=self.diagnostics)

    def _listening(self) -> str | None:
        if self.process.poll() is not None:
            raise AssertionError(f"engine serve exited {self.process.returncode} before "
                                 f"listening\n{self.diagnostics()}")
        text = self.stderr_path.read_text(errors="replace")
        if "\n" not in text:
            return None
        first = text.split("\n", 1)[0]
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert found, f"first stderr line of engine serve is not the address: {first!r}"
        return found.group(1)

    def diagnostics(self) -> str:
        """The server's output so far."""
        err = self.stderr_path.read_text(errors="replace")
        out = self.stdout_path.read_text(errors="replace")
        return (f"--- engine serve stderr ---\n{err[-8000:]}\n"
                f"--- engine serve stdout ---\n{out[-2000:]}")

    def stop(self) -> None:
        """SIGTERM, then the whole process group is killed if it has not exited in 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._stderr.close()
        self._stdout.close()

    # The JSON API, as a same-origin client without a browser would use it.

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as err:
            raise ApiError(err.code, err.read().decode(errors="replace")) from None
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, {} if body is None else body)

    def runs(self) -> list[dict[str, Any]]:
        """GET /api/runs, newest first."""
        answer = self.get("/api/runs")
        return answer["runs"] if isinstance(answer, dict) else answer

    def run(self, run_id: str) -> dict[str, Any]:
        return self.get(f"/api/runs/{run_id}")

    def run_status(self, run_id: str) -> str:
        return self.run(run_id)["status"]

    def wait_status(self, run_id: str, wanted: str) -> dict[str, Any]:
        """Waits until the run's status is `wanted`; fails at once if it ended otherwise."""
        ended = {"succeeded", "failed", "cancelled", "needs_attention"} - {wanted}

        def reached() -> dict[str, Any] | None:
            doc = self.run(run_id)
            if doc["status"] in ended:
                raise Stop(f"run {run_id} ended {doc['status']}, not {wanted}: "
                            f"{json.dumps(doc)[:3000]}")
            return doc if doc["status"] == wanted else None

        return wait_stop(reached, f"run {run_id} to be {wanted}", self.diagnostics)

    def tasks(self) -> dict[str, dict[str, Any]]:
        """GET /api/tasks, by id."""
        return {t["id"]: t for t in self.get("/api/tasks")["tasks"]}


class Stop(Exception):
    """A condition that can no longer become true."""


def wait_stop(condition: Callable[[], Any], what: str,
              diagnostics: Callable[[], str] | None = None) -> Any:
    """`wait_until`, but a `Stop` raised by the condition fails at once."""
    failure: list[str] = []

    def guarded() -> Any:
        try:
            return condition()
        except Stop as stop:
            failure.append(str(stop))
            return True

    value = wait_until(guarded, what, diagnostics=diagnostics)
    if failure:
        raise AssertionError(failure[0] + ("\n" + diagnostics() if diagnostics else ""))
    return value
