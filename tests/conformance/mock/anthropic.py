"""Anthropic Messages API (SSE) for Claude Code: POST /v1/messages, /v1/messages/count_tokens.

Claude Code (ANTHROPIC_BASE_URL=http://127.0.0.1:8765) streams every model call as
`POST /v1/messages?beta=true` with `stream: true`. A request that offers tools is a *main*
request (the agent loop) and takes the next turn of the scenario; one without tools (a title, a
topic check, a summary Claude makes on its own) is a *side* request answered with
`scenario.side`. `POST /v1/messages/count_tokens` is answered with an input token count (side,
no usage). `HEAD /` is Claude's preconnect to the base URL at startup (side; server.py must
route `/` here). A request without `stream: true` (Claude's non-streaming fallback after a
stream failed) is answered with the whole message as JSON.

The stream is the real API's: `message_start` (the message with its input usage and
`output_tokens: 1`), `ping`, per content block `content_block_start` / `content_block_delta`
(`text_delta` or `input_json_delta`) / `content_block_stop`, then `message_delta` (stop reason
and the final usage, input and cache counters repeated as the API does) and `message_stop`.
Usage is Anthropic's own form, which is already the normalized one: `input_tokens` is input not
read from cache, `cache_read_input_tokens` and `cache_creation_input_tokens` are separate.

A cut or hung stream (`{"do": "cut"|"hang", "after": N}`) sends the first N stream events; the
usage logged for it is what those events reported (the `message_start` usage when the
`message_delta` was not reached).

Tools: Claude Code's `Write` (`file_path`, which must be absolute: a relative scenario path is
joined to the working directory Claude states in its system prompt, `content`) and `Bash`
(`command`, `description`).

Errors (scenario turn `{"do": "error", ...}`), each with the API's JSON error body
`{"type": "error", "error": {"type": T, "message": M}, "request_id": R}` and a `request-id`:
  rate_limit  429 `rate_limit_error` with `anthropic-ratelimit-requests-*` headers and
              `retry-after` when the turn gives `retry_after`
  quota       400 `invalid_request_error` "Your credit balance is too low..." (what the API
              answers an account out of credits); `"status": 429` makes it a 429
              `billing_error` instead
  auth        401 `authentication_error` "invalid x-api-key"
  overloaded  529 `overloaded_error`, server 500 `api_error`
"""

import json
import re
import time

import common
import scenario as scenario_mod

API = "anthropic"
DEFAULT_MODEL = "claude-sonnet-4-5"
CREDIT_MESSAGE = ("Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing "
                  "to upgrade or purchase credits.")


def _wire_usage(u, output):
    return {
        "input_tokens": u["input"],
        "cache_creation_input_tokens": u["cache_write"],
        "cache_read_input_tokens": u["cache_read"],
        "output_tokens": output,
    }


def _normalized(wire):
    return {
        "input": wire["input_tokens"],
        "output": wire["output_tokens"],
        "cache_read": wire["cache_read_input_tokens"],
        "cache_write": wire["cache_creation_input_tokens"],
    }


def _cwd(body):
    """The working directory Claude states in its system prompt, if any."""
    system = body.get("system")
    if isinstance(system, list):
        text = "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    else:
        text = system or ""
    m = re.search(r"[Ww]orking directory: (\S+)", text)
    return m.group(1) if m else None


def _blocks(turn, body, i):
    """The content blocks of a turn: [(start block, [delta, ...])]."""
    blocks = []
    text = turn.get("text")
    if text:
        words = text.split(" ")
        deltas = [{"type": "text_delta", "text": w if k == 0 else " " + w} for k, w in enumerate(words)]
        blocks.append(({"type": "text", "text": ""}, deltas))
    if turn.get("do") == "tool":
        if turn.get("tool") == "shell":
            name, args = "Bash", {"command": turn["command"], "description": "Run a command"}
        else:
            path = turn["path"]
            cwd = _cwd(body)
            if not path.startswith("/") and cwd:
                path = cwd.rstrip("/") + "/" + path
            name, args = "Write", {"file_path": path, "content": turn.get("content", "")}
        arguments = json.dumps(args)
        half = len(arguments) // 2
        deltas = [{"type": "input_json_delta", "partial_json": arguments[:half]},
                  {"type": "input_json_delta", "partial_json": arguments[half:]}]
        blocks.append(({"type": "tool_use", "id": "toolu_mock_%d" % i, "name": name, "input": {}}, deltas))
    return blocks


def _events(turn, body, i, model, msg_id):
    """The stream's events [(event name, data, usage reported so far)] for a turn."""
    u = scenario_mod.usage(turn)
    start_usage = _wire_usage(u, 1 if u["output"] else 0)
    final_usage = _wire_usage(u, u["output"])
    events = [("message_start", {"type": "message_start", "message": {
        "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}}, start_usage),
        ("ping", {"type": "ping"}, start_usage)]
    stop = "end_turn"
    for index, (block, deltas) in enumerate(_blocks(turn, body, i)):
        if block["type"] == "tool_use":
            stop = "tool_use"
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": block}, start_usage))
        for d in deltas:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d},
                           start_usage))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}, start_usage))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": final_usage}, final_usage))
    events.append(("message_stop", {"type": "message_stop"}, final_usage))
    return events


def _message(turn, body, i, model, msg_id):
    """A turn as one non-streamed message (what Claude asks for when a stream failed)."""
    u = scenario_mod.usage(turn)
    content = []
    stop = "end_turn"
    for block, deltas in _blocks(turn, body, i):
        block = dict(block)
        if block["type"] == "tool_use":
            stop = "tool_use"
            block["input"] = json.loads("".join(d["partial_json"] for d in deltas))
        else:
            block["text"] = "".join(d["text"] for d in deltas)
        content.append(block)
    wire = _wire_usage(u, u["output"])
    return {"id": msg_id, "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop, "stop_sequence": None, "usage": wire}, wire


def _answer(turn, body, i, model, msg_id):
    """A turn as the request asked for it (stream or not): (normalized usage it reports, a
    function sending it)."""
    if body.get("stream"):
        events = _events(turn, body, i, model, msg_id)
        return _normalized(events[-1][2]), lambda out: _stream(out, events)
    message, wire = _message(turn, body, i, model, msg_id)
    return _normalized(wire), lambda out: out.json(200, message, {"request-id": "req_mock_%d" % i})


def _stream(out, events, after=None, then=None):
    # A cut lets the client read what was sent first: a real cut loses only what was not yet
    # delivered.
    common.stream(out, [(name, data) for name, data, _ in events], after, then,
                  headers={"request-id": "req_mock_stream"}, settle=0.5)


def _ratelimit_headers(retry_after):
    reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + float(retry_after or 60)))
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": reset,
        "anthropic-ratelimit-input-tokens-limit": "30000",
        "anthropic-ratelimit-input-tokens-remaining": "30000",
        "anthropic-ratelimit-input-tokens-reset": reset,
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "8000",
        "anthropic-ratelimit-output-tokens-reset": reset,
    }
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return headers


def _error(out, turn, i):
    kind = turn.get("error")
    message = turn.get("message")
    headers = {"request-id": "req_mock_error_%d" % i}
    if kind == "rate_limit":
        status, etype = 429, "rate_limit_error"
        message = message or ("This request would exceed the rate limit for your organization of 50 requests "
                              "per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.")
        headers.update(_ratelimit_headers(turn.get("retry_after")))
    elif kind == "quota":
        status = int(turn.get("status", 400))
        etype = "invalid_request_error" if status == 400 else "billing_error"
        message = message or CREDIT_MESSAGE
    elif kind == "auth":
        status, etype = 401, "authentication_error"
        message = message or "invalid x-api-key"
    elif kind == "overloaded":
        status, etype = 529, "overloaded_error"
        message = message or "Overloaded"
    else:
        status, etype = 500, "api_error"
        message = message or "Internal server error"
    out.json(status, {"type": "error", "error": {"type": etype, "message": message},
                      "request_id": headers["request-id"]}, headers)
    return status


def handle(req, out, state):
    path = req.path
    body = req.body or {}
    model = body.get("model") or DEFAULT_MODEL
    if req.method == "HEAD" and path == "/":
        # Claude Code's preconnect: `HEAD $ANTHROPIC_BASE_URL` at startup, answer ignored.
        state.log(api=API, path=path, role="side", kind="preconnect", usage=scenario_mod.usage(None))
        out.json(200, {})
        return
    if path.startswith("/v1/messages/count_tokens"):
        state.log(api=API, path=path, role="side", kind="count_tokens", usage=scenario_mod.usage(None), model=model)
        out.json(200, {"input_tokens": 100})
        return
    if path != "/v1/messages" or req.method != "POST":
        state.log(api=API, path=path, method=req.method, role="unrouted")
        out.json(404, {"type": "error", "error": {"type": "not_found_error",
                                                  "message": "mock: no %s %s" % (req.method, path)}})
        return
    with state.lock:
        state.messages = getattr(state, "messages", 0) + 1
        msg_id = "msg_mock_%04d" % state.messages
    if not body.get("tools"):
        sent, send = _answer(common.side_turn(state), body, 0, model, msg_id)
        state.log(api=API, path=path, role="side", kind="text", usage=sent, model=model,
                  stream=bool(body.get("stream")))
        send(out)
        return
    i, turn = state.take_turn()
    kind = turn.get("do")
    if kind == "error":
        status = _error(out, turn, i)
        common.log_error(state, API, path, i, turn, model, status=status)
        return
    if kind in ("cut", "hang"):
        inner, after = common.cut_or_hang(turn, 2)
        events = _events(inner, body, i, model, msg_id)
        sent = _normalized(events[min(after, len(events)) - 1][2]) if after > 0 else common.zero()
        common.log_main(state, API, path, i, turn, sent, model)
        _stream(out, events, after=after, then=kind)
        return
    sent, send = _answer(turn, body, i, model, msg_id)
    common.log_main(state, API, path, i, turn, sent, model, stream=bool(body.get("stream")))
    send(out)
