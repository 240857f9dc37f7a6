"""The MCP tools through the official MCP Python SDK (`mcp` from PyPI), over both transports:
`engine mcp WORKFLOW` on stdio, and `/mcp` of `engine serve` over streamable HTTP. The tools
are listed, the read tools answer with the repository's tasks, a run started with a tool
finishes (seen through the `run` tool), and an unknown run is an error result, not a crash."""

from __future__ import annotations

import contextlib
import json
import re
import time
from typing import Any, AsyncIterator

import anyio
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from harness import (ENGINE, EXECUTE, MERGE_AFTER, PATIENCE, RUN_ID, Agent, Repo, engine_env,
                     git)

# The tools named in issue #15 (helper P ships them under these names).
EXPECTED_TOOLS = {"status", "tasks", "next_ready_tasks", "task", "runs", "run", "logs", "costs",
                  "start_run", "cancel_run", "approve", "reject", "retry", "pause", "unpause"}

QUICK = ("- - say: \"writing the notes through MCP\"\n"
         "  - append: {path: notes.txt, content: \"from mcp\\n\"}\n"
         "  - say: \"Done. <promise>COMPLETE</promise>\"\n")


@contextlib.asynccontextmanager
async def connect(transport: str, repo: Repo, url: str | None,
                  errlog: Any) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session over `transport`."""
    if transport == "stdio":
        params = StdioServerParameters(command=str(ENGINE), args=["mcp", "workflow.yaml"],
                                       cwd=str(repo.path), env=engine_env())
        streams = stdio_client(params, errlog=errlog)
    else:
        assert url is not None
        streams = streamable_http_client(url + "/mcp")
    async with streams as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=PATIENCE) as session:
            await session.initialize()
            yield session


def text(result: Any) -> str:
    """A tool result's text content (and its structured content), for substring checks."""
    parts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if result.structured_content is not None:
        parts.append(json.dumps(result.structured_content))
    return "\n".join(parts)


def argument(tools: dict[str, Any], tool: str, *names: str) -> str:
    """The first of `names` that the tool's input schema has (the name helper P chose)."""
    properties = (tools[tool].input_schema or {}).get("properties", {})
    for name in names:
        if name in properties:
            return name
    raise AssertionError(f"tool {tool} takes none of {names}: {sorted(properties)}")


def run_status(doc: str) -> str:
    """The status in the `run` tool's answer (a run document: JSON with a `status`)."""
    for candidate in [doc, *doc.split("\n")]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("status"), str):
            return value["status"]
    found = re.search(r'"status"\s*:\s*"(\w+)"', doc)
    assert found, f"no status in the run tool's answer: {doc[:2000]}"
    return found.group(1)


async def call(session: ClientSession, tool: str, arguments: dict[str, Any]) -> str:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, f"{tool}({arguments}) failed: {text(result)}"
    return text(result)


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_mcp_tools_read_start_a_run_and_report_errors(transport, tmp_path, serve):
    agent = Agent(tmp_path / "agent", QUICK)
    repo = Repo(tmp_path / "repo")
    repo.workflow(agent, EXECUTE + MERGE_AFTER.format(after="execute"))
    url = serve(repo).url if transport == "http" else None
    errlog_path = tmp_path / "mcp.stderr"

    async def scenario() -> None:
        with open(errlog_path, "w") as errlog:
            async with connect(transport, repo, url, errlog) as session:
                listed = await session.list_tools()
                tools = {tool.name: tool for tool in listed.tools}
                missing = EXPECTED_TOOLS - set(tools)
                assert not missing, f"missing tools: {sorted(missing)}; listed: {sorted(tools)}"
                for tool in tools.values():
                    assert tool.description, f"tool {tool.name} has no description"

                # Reading.
                assert "\"web\"" in await call(session, "status", {})
                listing = await call(session, "tasks", {})
                for task in ("TASK-1", "TASK-2", "TASK-3"):
                    assert task in listing, listing
                ready = await call(session, "next_ready_tasks", {})
                assert "TASK-1" in ready and "TASK-2" not in ready, ready
                task_arg = argument(tools, "task", "id", "task", "task_id")
                detail = await call(session, "task", {task_arg: "TASK-2"})
                assert "Extend the greeting notes" in detail and "TASK-1" in detail, detail
                await call(session, "runs", {})
                await call(session, "costs", {})

                # Starting a run, and following it to its end.
                start_arg = argument(tools, "start_run", "task", "task_id", "id")
                started = await call(session, "start_run", {start_arg: "TASK-1"})
                found = RUN_ID.search(started)
                assert found, f"start_run named no run id: {started}"
                run_id = found.group(0)
                run_arg = argument(tools, "run", "run", "run_id", "id")
                deadline = time.monotonic() + PATIENCE
                while True:
                    status = run_status(await call(session, "run", {run_arg: run_id}))
                    if status == "succeeded":
                        break
                    assert status in ("pending", "running"), f"run {run_id} is {status}"
                    assert time.monotonic() < deadline, f"run {run_id} did not finish: {status}"
                    await anyio.sleep(0.2)
                assert run_id in await call(session, "runs", {})
                logs_arg = argument(tools, "logs", "run", "run_id", "id")
                logs = await call(session, "logs", {logs_arg: run_id})
                assert "writing the notes through MCP" in logs, logs
                # TASK-1 is done (written back), so TASK-2 is ready now.
                ready = await call(session, "next_ready_tasks", {})
                assert "TASK-2" in ready, ready

                # An unknown run: an error answer, and the server goes on.
                try:
                    result = await session.call_tool("run", {run_arg: "01NOSUCHRUN000000"})
                    assert result.is_error, f"an unknown run is not an error: {text(result)}"
                except MCPError as err:
                    assert "run" in str(err).lower(), err
                # A write tool that cannot act now (nothing waits for approval) says so.
                approve_arg = argument(tools, "approve", "run", "run_id", "id")
                try:
                    result = await session.call_tool("approve", {approve_arg: run_id})
                    assert result.is_error, f"approving a finished run: {text(result)}"
                except MCPError as err:
                    assert "approv" in str(err).lower(), err
                assert "\"web\"" in await call(session, "status", {})

    try:
        anyio.run(scenario)
    except BaseException:
        print(f"--- MCP server stderr ({transport}) ---")
        print(errlog_path.read_text(errors="replace") if errlog_path.exists() else "(none)")
        raise
    assert git(repo.path, "show", "main:notes.txt") == "from mcp\n"
    assert "### TASK-1: Write the greeting notes\nP1 | DONE\n" in repo.read("spec/tasks.md")
