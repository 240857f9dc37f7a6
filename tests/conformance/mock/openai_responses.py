"""OpenAI Responses API (SSE) for Codex: POST /v1/responses (and /responses).

Codex (a custom model provider with `base_url = "http://127.0.0.1:8765/v1"`,
`wire_api = "responses"`, `supports_websockets = false`) streams every model call as
`POST /v1/responses` with `stream: true`, the whole conversation in `input` and its tools in
`tools`. A request that offers tools is a *main* request (the agent loop) and takes the next turn
of the scenario; one without tools (a compaction or summary Codex makes on its own) is a *side*
request answered with `scenario.side`.

The stream is the real API's: `response.created`, `response.in_progress`, per output item
`response.output_item.added`, its deltas (`response.output_text.delta` for a message,
`response.function_call_arguments.delta` for a function call, `response.custom_tool_call_input.delta`
for a freeform tool call), `response.output_item.done` (the whole item), then
`response.completed` with the response and its usage. Usage is OpenAI's form: `input_tokens` is
the WHOLE input including the cached part, `input_tokens_details.cached_tokens` the cached part,
`output_tokens`; there are no cache writes. The log records it normalized (input = not cached).
A cut or hung stream sends its first N events; Codex learns the usage only from
`response.completed`, so a stream stopped before it reported nothing (logged as zeros).

Tools: the module looks at what the request declares. A file write uses `apply_patch` when the
request offers it (a freeform `custom` tool: a `custom_tool_call` whose `input` is the patch; a
`function` tool: `{"input": patch}`), else the shell tool with a heredoc. A shell command uses
`exec_command` (`{"cmd": ...}`) or the older `shell` (`{"command": ["bash", "-lc", ...]}`).

Errors (scenario turn `{"do": "error", ...}`), each with the API's JSON error body
`{"error": {"message", "type", "param", "code"}}` and an `x-request-id`:
  rate_limit  429 `rate_limit_exceeded` (type `requests`), `retry-after` (and
              `retry-after-ms`) when the turn gives `retry_after`, `x-ratelimit-*` headers
  quota       429 `insufficient_quota` "You exceeded your current quota..."
  auth        401 `invalid_api_key` "Incorrect API key provided..."
  overloaded  503 `server_is_overloaded`, server 500 `server_error`
"""

import json
import time

import common
import scenario as scenario_mod

API = "openai_responses"
DEFAULT_MODEL = "gpt-5.5"



def _wire_usage(u):
    """OpenAI's usage for a normalized one: input counts the cached tokens too."""
    return {
        "input_tokens": u["input"] + u["cache_read"],
        "input_tokens_details": {"cached_tokens": u["cache_read"]},
        "output_tokens": u["output"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": u["input"] + u["cache_read"] + u["output"],
    }


def _tools(body):
    """{tool name: tool type} the request declares (namespaced tools flattened)."""
    found = {}
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "namespace":
            for inner in tool.get("tools") or []:
                if isinstance(inner, dict) and inner.get("name"):
                    found[inner["name"]] = inner.get("type")
        elif tool.get("name"):
            found[tool["name"]] = tool.get("type")
    return found


def _patch(path, content):
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "*** Begin Patch\n*** Add File: %s\n%s\n*** End Patch" % (path, "\n".join("+" + l for l in lines))


def _shell_call(tools, command, call_id, item_id):
    if "exec_command" in tools or "shell" not in tools:
        args = {"cmd": command, "yield_time_ms": 10000}
        name = "exec_command"
    else:
        args = {"command": ["bash", "-lc", command], "timeout_ms": 10000}
        name = "shell"
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
            "arguments": json.dumps(args), "status": "completed"}


def _tool_item(turn, body, i):
    tools = _tools(body)
    call_id = "call_mock_%d" % i
    item_id = "fc_mock_%d" % i
    if turn.get("tool") == "shell":
        return _shell_call(tools, turn["command"], call_id, item_id)
    path, content = turn["path"], turn.get("content", "")
    kind = tools.get("apply_patch")
    if kind == "custom":
        return {"type": "custom_tool_call", "id": item_id, "call_id": call_id, "name": "apply_patch",
                "input": _patch(path, content), "status": "completed"}
    if kind == "function":
        return {"type": "function_call", "id": item_id, "call_id": call_id, "name": "apply_patch",
                "arguments": json.dumps({"input": _patch(path, content)}), "status": "completed"}
    command = "mkdir -p \"$(dirname '%s')\" && cat > '%s' <<'MOCK_EOF'\n%s\nMOCK_EOF" % (
        path, path, content.rstrip("\n"))
    return _shell_call(tools, command, call_id, item_id)


def _item_events(index, item):
    """[(event, data)] streaming one output item."""
    events = []
    if item["type"] == "message":
        text = item["content"][0]["text"]
        started = dict(item, status="in_progress", content=[])
        events.append(("response.output_item.added", {"output_index": index, "item": started}))
        events.append(("response.content_part.added", {
            "item_id": item["id"], "output_index": index, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []}}))
        words = text.split(" ")
        for k, w in enumerate(words):
            events.append(("response.output_text.delta", {
                "item_id": item["id"], "output_index": index, "content_index": 0,
                "delta": w if k == 0 else " " + w}))
        events.append(("response.output_text.done", {
            "item_id": item["id"], "output_index": index, "content_index": 0, "text": text}))
        events.append(("response.content_part.done", {
            "item_id": item["id"], "output_index": index, "content_index": 0,
            "part": {"type": "output_text", "text": text, "annotations": []}}))
    elif item["type"] == "function_call":
        started = dict(item, status="in_progress", arguments="")
        events.append(("response.output_item.added", {"output_index": index, "item": started}))
        args = item["arguments"]
        half = len(args) // 2
        for piece in (args[:half], args[half:]):
            events.append(("response.function_call_arguments.delta", {
                "item_id": item["id"], "output_index": index, "delta": piece}))
        events.append(("response.function_call_arguments.done", {
            "item_id": item["id"], "output_index": index, "arguments": args}))
    else:  # custom_tool_call
        started = dict(item, status="in_progress", input="")
        events.append(("response.output_item.added", {"output_index": index, "item": started}))
        events.append(("response.custom_tool_call_input.delta", {
            "item_id": item["id"], "output_index": index, "delta": item["input"]}))
        events.append(("response.custom_tool_call_input.done", {
            "item_id": item["id"], "output_index": index, "input": item["input"]}))
    events.append(("response.output_item.done", {"output_index": index, "item": item}))
    return events


def _events(turn, body, i, model, resp_id):
    """The stream's events [(event name, data, normalized usage reported so far)] for a turn."""
    u = scenario_mod.usage(turn)
    zero = scenario_mod.usage(None)
    items = []
    if turn.get("text"):
        items.append({"type": "message", "id": "msg_mock_%d" % i, "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": turn["text"], "annotations": []}]})
    if turn.get("do") == "tool":
        items.append(_tool_item(turn, body, i))
    response = {"id": resp_id, "object": "response", "created_at": int(time.time()), "status": "in_progress",
                "model": model, "output": [], "usage": None}
    events = [("response.created", {"response": response}),
              ("response.in_progress", {"response": response})]
    for index, item in enumerate(items):
        events.extend(_item_events(index, item))
    done = dict(response, status="completed", output=items, usage=_wire_usage(u))
    events.append(("response.completed", {"response": done}))
    out = []
    for seq, (name, data) in enumerate(events):
        data = dict({"type": name, "sequence_number": seq}, **data)
        out.append((name, data, u if name == "response.completed" else zero))
    return out


def _stream(out, events, after=None, then=None):
    common.stream(out, [(name, data) for name, data, _ in events], after, then,
                  headers={"x-request-id": "req_mock_stream"})


def _error(out, turn, i):
    retry_after = turn.get("retry_after")
    wait = float(retry_after if retry_after is not None else 20)
    headers = {"x-request-id": "req_mock_error_%d" % i}
    if turn.get("error") == "rate_limit":
        headers.update({"x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
                        "x-ratelimit-reset-requests": "%gs" % wait})
    return common.openai_error(
        out, turn,
        "Rate limit reached for gpt-5.5 in organization org-mock on requests per min (RPM): Limit 3, "
        "Used 3, Requested 1. Please try again in %gs." % wait,
        headers,
        overloaded=(503, "server_error", "server_is_overloaded",
                    "The server is overloaded. Please try again later."),
        server=(500, "server_error", "server_error",
                "The server had an error while processing your request. Sorry about that!"))


def handle(req, out, state):
    path = req.path
    body = req.body or {}
    model = body.get("model") or DEFAULT_MODEL
    if req.method != "POST" or path.rstrip("/") not in ("/v1/responses", "/responses"):
        state.log(api=API, path=path, method=req.method, role="unrouted")
        out.json(404, {"error": {"message": "mock: no %s %s" % (req.method, path), "type": "invalid_request_error",
                                 "param": None, "code": "not_found"}})
        return
    with state.lock:
        state.responses = getattr(state, "responses", 0) + 1
        resp_id = "resp_mock_%04d" % state.responses
    if not body.get("tools"):
        events = _events(common.side_turn(state), body, 0, model, resp_id)
        state.log(api=API, path=path, role="side", kind="text", usage=events[-1][2], model=model)
        _stream(out, events)
        return
    i, turn = state.take_turn()
    kind = turn.get("do")
    if kind == "error":
        status = _error(out, turn, i)
        common.log_error(state, API, path, i, turn, model, status=status)
        return
    if kind in ("cut", "hang"):
        inner, after = common.cut_or_hang(turn, 2)
        events = _events(inner, body, i, model, resp_id)
        sent = events[min(after, len(events)) - 1][2] if after > 0 else common.zero()
        common.log_main(state, API, path, i, turn, sent, model)
        _stream(out, events, after=after, then=kind)
        return
    events = _events(turn, body, i, model, resp_id)
    common.log_main(state, API, path, i, turn, events[-1][2], model)
    _stream(out, events)
