"""OpenAI Chat Completions (SSE) for opencode, under the path prefix /opencode/.

opencode is configured with a provider using its bundled `@ai-sdk/openai-compatible` package and
`baseURL` http://127.0.0.1:8765/opencode/v1, so it sends `POST /opencode/v1/chat/completions`
with `stream: true` and `stream_options.include_usage`. A request that offers tools is a *main*
request (the agent loop) and takes the next turn of the scenario; one without tools (the session
title opencode asks for on its own) is a *side* request.

Usage goes out in OpenAI's form: `prompt_tokens` counts every input token, cached ones included,
`prompt_tokens_details.cached_tokens` the cached part, `completion_tokens` the output. The API
has no cache writes, so a turn's `cache_write` is not sent (and logged as 0). A turn's usage may
name `reasoning` tokens: sent as `completion_tokens_details.reasoning_tokens`, a part of `output`.

Tools: opencode's own `write` (`filePath`, `content`) and `bash` (`command`, `description`); a
tool turn with `args` calls any other opencode tool by its name (`{"do": "tool", "tool": "task",
"args": {...}}`).

Errors (scenario turn `{"do": "error", ...}`), each in OpenAI's error shape:
  rate_limit  429 `rate_limit_exceeded`, `retry-after` (and `retry-after-ms`) when given
  quota       429 `insufficient_quota` ("You exceeded your current quota...")
  auth        401 `invalid_api_key`
  overloaded  503, server 500
"""

import json
import time

import common
import scenario as scenario_mod

API = "opencode-openai-chat"
MODEL = "mock-model"


def _sent_usage(turn):
    """(wire usage, normalized usage actually sent) for a turn."""
    u = scenario_mod.usage(turn)
    cached = u["cache_read"]
    prompt = u["input"] + cached
    wire = {
        "prompt_tokens": prompt,
        "completion_tokens": u["output"],
        "total_tokens": prompt + u["output"],
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    reasoning = int(((turn or {}).get("usage") or {}).get("reasoning", 0))
    if reasoning:
        # Reasoning tokens are part of `completion_tokens` (OpenAI's convention).
        wire["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    normalized = {"input": u["input"], "output": u["output"], "cache_read": cached, "cache_write": 0}
    return wire, normalized


def _chunk(cid, delta=None, finish=None, usage=None, choices=True):
    obj = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL}
    if choices:
        obj["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    else:
        obj["choices"] = []
    if usage is not None:
        obj["usage"] = usage
    return obj


def _events(turn, cid, call_id):
    """The stream's data events for a turn, in order (the last one is the usage chunk)."""
    wire, _ = _sent_usage(turn)
    events = [_chunk(cid, {"role": "assistant", "content": ""})]
    text = turn.get("text")
    if turn.get("do") == "tool":
        if text:
            events.append(_chunk(cid, {"content": text}))
        if turn.get("tool") == "shell":
            args = {"command": turn["command"], "description": "Run a command"}
            name = "bash"
        elif "args" in turn:
            # Any other opencode tool, by its own name and arguments (e.g. `task`).
            args = turn["args"]
            name = turn["tool"]
        else:
            args = {"filePath": turn["path"], "content": turn.get("content", "")}
            name = "write"
        arguments = json.dumps(args)
        half = len(arguments) // 2
        events.append(_chunk(cid, {"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                                   "function": {"name": name, "arguments": arguments[:half]}}]}))
        events.append(_chunk(cid, {"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]}))
        events.append(_chunk(cid, {}, finish="tool_calls"))
    else:
        words = (text or "").split(" ")
        for i, w in enumerate(words):
            events.append(_chunk(cid, {"content": w if i == 0 else " " + w}))
        events.append(_chunk(cid, {}, finish="stop"))
    events.append(_chunk(cid, usage=wire, choices=False))
    return events


def _error(out, turn):
    wait = turn.get("retry_after")
    return common.openai_error(
        out, turn,
        "Rate limit reached for requests per min. Please try again in %ss." % (wait if wait is not None else 20),
        auth=(401, "invalid_request_error", "invalid_api_key", common.openai_key_message("sk-mock")))


def _stream(out, events, after=None, then=None):
    common.stream(out, [(None, e) for e in events], after, then, done=True)


def handle(req, out, state):
    path = req.path
    if req.method == "GET" and path.endswith("/models"):
        state.log(api=API, path=path, role="side", kind="models", usage=scenario_mod.usage(None))
        out.json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "mock"}]})
        return
    if not path.endswith("/chat/completions"):
        state.log(api=API, path=path, method=req.method, role="unrouted")
        out.json(404, {"error": {"message": "mock: opencode_api has no %s %s" % (req.method, path)}})
        return
    body = req.body or {}
    model = body.get("model")
    if not body.get("tools"):
        turn = common.side_turn(state)
        _, normalized = _sent_usage(turn)
        state.log(api=API, path=path, role="side", kind="text", usage=normalized, model=model)
        _stream(out, _events(turn, "chatcmpl-side", None))
        return
    i, turn = state.take_turn()
    kind = turn.get("do")
    if kind == "error":
        status = _error(out, turn)
        common.log_error(state, API, path, i, turn, model, status=status)
        return
    cid = "chatcmpl-%d" % i
    call_id = "call_%d" % i
    if kind in ("cut", "hang"):
        inner, after = common.cut_or_hang(turn, 2)
        events = _events(inner, cid, call_id)
        # A stream stopped before its usage chunk reported no usage.
        sent = _sent_usage(inner)[1] if after >= len(events) else common.zero()
        common.log_main(state, API, path, i, turn, sent, model)
        _stream(out, events, after=after, then=kind)
        return
    _, normalized = _sent_usage(turn)
    common.log_main(state, API, path, i, turn, normalized, model)
    _stream(out, _events(turn, cid, call_id))
