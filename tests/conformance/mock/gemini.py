"""Gemini API for Gemini CLI: POST /v1beta/models/M:streamGenerateContent?alt=sse,
:generateContent and :countTokens.

Gemini CLI (GEMINI_API_KEY=..., GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8765) streams every
call of its agent loop as `streamGenerateContent?alt=sse`: an SSE stream of
GenerateContentResponse objects, each `data: {...}`. A request that declares tools
(`tools[].functionDeclarations`) is a *main* request and takes the next turn of the scenario.
Anything else is a *side* request (the model router's classifier, the next-speaker check, loop
detection, a session summary...), answered with `scenario.side`: when the request asks for JSON
(`generationConfig.responseJsonSchema` / `responseSchema`), the answer is an object built from
the schema, with `next_speaker: "user"` (so the CLI never takes an extra turn on its own) and
the first value of every enum. `:countTokens` answers a token count (side, no usage).

Usage is Gemini's own form: `promptTokenCount` counts the whole prompt INCLUDING the cached
part, `cachedContentTokenCount` the cached part, `candidatesTokenCount` the answer,
`thoughtsTokenCount` the model's thinking (billed as output), `totalTokenCount` their sum. A
turn's normalized usage `{"input", "output", "cache_read"}` is sent as prompt = input +
cache_read, cached = cache_read, and output split into candidates = output - thoughts and
thoughts = `turn["thoughts"]` (default 0); Gemini has no cache writes. Every chunk carries
`usageMetadata` as the real API does (the prompt counts from the first chunk, the output counts
on the last one, which also has `finishReason`). What is logged is the normalized usage of the
last chunk actually sent.

A cut or hung stream (`{"do": "cut"|"hang", "after": N}`) sends the first N chunks, then a cut
resets the connection (RST; Gemini CLI 0.61.0 reports "terminated" and does not retry it) and a
hang sends nothing more. `{"do": "cut", "how": "eof", ...}` instead ends the stream cleanly
after N chunks, without a `finishReason` (what a proxy dropping the upstream does): Gemini CLI
takes that as an invalid stream and retries the request.

Tools: Gemini CLI's `write_file` (`file_path`, `content`) and `run_shell_command` (`command`,
`description`); `{"do": "tool", "tool": "call", "name": N, "args": {...}}` calls any tool, with
`{plans}` in a string argument replaced by the plans directory the Plan Mode prompt names.

Errors (scenario turn `{"do": "error", ...}`), each with Google's JSON error body
`{"error": {"code", "message", "status", "details": [...]}}`:
  rate_limit  429 RESOURCE_EXHAUSTED, a per-minute quota (QuotaFailure with a `PerMinute`
              quota id) with a RetryInfo `retryDelay` of `retry_after` seconds (default 1)
  quota       429 RESOURCE_EXHAUSTED, billing: "You exceeded your current quota, please check
              your plan and billing details ... limit: 0" with a QuotaFailure `PerDay` (what the
              API answers a key whose project has no quota left: waiting does not help)
  auth        400 INVALID_ARGUMENT "API key not valid" (what the real API answers a bad key);
              `"status": 401` gives 401 UNAUTHENTICATED, `"status": 403` 403 PERMISSION_DENIED
  overloaded  503 UNAVAILABLE, server 500 INTERNAL
"""

import json
import re
import socket
import struct

import common
import scenario as scenario_mod

API = "gemini"
DEFAULT_MODEL = "gemini-2.5-pro"


def _model(path):
    """The model in /v1beta/models/M:method."""
    tail = path.split("/models/", 1)[-1]
    return tail.split(":", 1)[0] or DEFAULT_MODEL


def _method(path):
    return path.rsplit(":", 1)[-1] if ":" in path else ""


def _is_main(body):
    for tool in (body or {}).get("tools") or []:
        if isinstance(tool, dict) and tool.get("functionDeclarations"):
            return True
    return False


def _wire_usage(u, thoughts, final):
    """usageMetadata for a chunk; the output counts only on the final chunk."""
    prompt = u["input"] + u["cache_read"]
    wire = {"promptTokenCount": prompt}
    if u["cache_read"]:
        wire["cachedContentTokenCount"] = u["cache_read"]
    total = prompt
    if final:
        thoughts = min(thoughts, u["output"])
        wire["candidatesTokenCount"] = u["output"] - thoughts
        if thoughts:
            wire["thoughtsTokenCount"] = thoughts
        total += u["output"]
    wire["totalTokenCount"] = total
    return wire


def _normalized(wire):
    prompt = wire.get("promptTokenCount", 0)
    cached = wire.get("cachedContentTokenCount", 0)
    return {
        "input": prompt - cached,
        "output": wire.get("candidatesTokenCount", 0) + wire.get("thoughtsTokenCount", 0),
        "cache_read": cached,
        "cache_write": 0,
    }


def _plans_dir(body):
    """The plans directory Gemini CLI names in its Plan Mode system prompt, if any."""
    system = json.dumps((body or {}).get("systemInstruction") or "")
    m = re.search(r"ONLY within: `([^`]+)`", system)
    return m.group(1) if m else None


def _fill(value, body):
    """`{plans}` in a raw call's string arguments -> the plans directory."""
    if isinstance(value, str) and "{plans}" in value:
        return value.replace("{plans}", (_plans_dir(body) or "plans").rstrip("/"))
    if isinstance(value, dict):
        return {k: _fill(v, body) for k, v in value.items()}
    return value


def _parts(turn, body=None):
    """The content parts of a turn, one per chunk: text words, then a function call."""
    parts = []
    text = turn.get("text")
    if text:
        words = text.split(" ")
        # Three chunks at most: enough to be a stream, few enough to cut at a known place.
        n = max(1, min(3, len(words)))
        step = (len(words) + n - 1) // n
        for k in range(0, len(words), step):
            piece = " ".join(words[k:k + step])
            parts.append({"text": piece if k == 0 else " " + piece})
    if turn.get("do") == "tool":
        if turn.get("tool") == "call":
            # Any tool by name: {"tool": "call", "name": N, "args": {...}}.
            call = {"name": turn["name"], "args": _fill(turn.get("args") or {}, body)}
        elif turn.get("tool") == "shell":
            call = {"name": "run_shell_command",
                    "args": {"command": turn["command"], "description": "Run a command"}}
        else:
            call = {"name": "write_file",
                    "args": {"file_path": turn["path"], "content": turn.get("content", "")}}
        parts.append({"functionCall": call})
    if not parts:
        parts.append({"text": ""})
    return parts


def _chunks(turn, model, body=None):
    """The stream's chunks [(GenerateContentResponse, normalized usage it reports)]."""
    u = scenario_mod.usage(turn)
    thoughts = int(turn.get("thoughts", 0))
    parts = _parts(turn, body)
    chunks = []
    for k, part in enumerate(parts):
        final = k == len(parts) - 1
        wire = _wire_usage(u, thoughts, final)
        candidate = {"content": {"role": "model", "parts": [part]}, "index": 0}
        if final:
            candidate["finishReason"] = "STOP"
        chunks.append(({"candidates": [candidate], "usageMetadata": wire, "modelVersion": model,
                        "responseId": "mock-resp"}, _normalized(wire)))
    return chunks


def _stream(out, chunks, after=None, then=None):
    """Sends the chunks (or the first `after`, then cuts, ends early or hangs); the usage last
    reported."""
    out.sse_start()
    reported = common.zero()
    for n, (data, usage) in enumerate(chunks):
        if after is not None and n >= after:
            break
        out.sse(data)
        reported = usage
    else:
        out.sse_end()
        return reported
    if then == "cut":
        _reset(out)
    elif then == "eof":
        out.sse_end()
    else:
        out.hang()
    return reported


def _reset(out):
    """The connection is reset mid-stream (RST, as when a proxy or the network drops it): the
    client sees ECONNRESET, which Gemini CLI retries. (A FIN mid-body is "terminated", which it
    does not retry: `Responder.cut`.)"""
    h = out.h
    try:
        h.wfile.flush()
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The handler's rfile holds a reference to the socket: without closing it first, close()
        # would not close the descriptor, and no RST would be sent.
        h.rfile.close()
        h.connection.close()
    except OSError:
        pass
    h.close_connection = True
    out.done = True


def _one(out, chunks):
    """A non-streaming generateContent answer: the chunks merged into one response."""
    parts = [p for data, _ in chunks for p in data["candidates"][0]["content"]["parts"]]
    last, usage = chunks[-1]
    body = dict(last)
    body["candidates"] = [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP",
                           "index": 0}]
    out.json(200, body)
    return usage


def _error_body(code, status, message, details=None):
    return {"error": {"code": code, "message": message, "status": status, "details": details or []}}


def _error(out, turn, model):
    kind = turn.get("error")
    if kind == "rate_limit":
        delay = turn.get("retry_after", 1)
        message = turn.get("message") or (
            "Resource has been exhausted (e.g. check quota). Quota exceeded for metric: "
            "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count, "
            "limit: 2000000, model: %s. Please retry in %ss." % (model, delay))
        details = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count",
                "quotaId": "GenerateContentPaidTierInputTokensPerModelPerMinute",
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": "2000000"}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "%ss" % delay},
        ]
        out.json(429, _error_body(429, "RESOURCE_EXHAUSTED", message, details))
    elif kind == "quota":
        message = turn.get("message") or (
            "You exceeded your current quota, please check your plan and billing details. For more "
            "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. "
            "To monitor your current usage, head to: https://ai.dev/usage?tab=rate-limit. \n* Quota "
            "exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, "
            "limit: 0, model: %s" % model)
        details = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": "0"}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        ]
        out.json(429, _error_body(429, "RESOURCE_EXHAUSTED", message, details))
    elif kind == "auth":
        status = int(turn.get("status", 400))
        if status == 401:
            out.json(401, _error_body(401, "UNAUTHENTICATED", turn.get("message") or (
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                "cookie or other valid authentication credential.")))
        elif status == 403:
            out.json(403, _error_body(403, "PERMISSION_DENIED", turn.get("message") or (
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.")))
        else:
            out.json(400, _error_body(400, "INVALID_ARGUMENT", turn.get("message") or (
                "API key not valid. Please pass a valid API key."), [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com",
                 "metadata": {"service": "generativelanguage.googleapis.com"}}]))
    elif kind == "overloaded":
        out.json(503, _error_body(503, "UNAVAILABLE", turn.get("message") or
                                  "The model is overloaded. Please try again later."))
    else:
        out.json(500, _error_body(500, "INTERNAL", turn.get("message") or "An internal error has occurred."))


def _schema_value(schema, key=None):
    """A value matching a JSON schema (enough for the CLI's side requests)."""
    if not isinstance(schema, dict):
        return "ok"
    if key == "next_speaker":
        return "user"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _schema_value(v, k) for k, v in props.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    return "ok"


def _side(req, out, state, model, method):
    body = req.body or {}
    side = state.scenario.side
    u = scenario_mod.usage(side)
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    text = json.dumps(_schema_value(schema)) if schema else side.get("text", "ok")
    wire = _wire_usage(u, 0, True)
    data = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": wire, "modelVersion": model, "responseId": "mock-side"}
    if method == "streamGenerateContent":
        out.sse_start()
        out.sse(data)
        out.sse_end()
    else:
        out.json(200, data)
    state.log(api=API, path=req.path, role="side", model=model, usage=_normalized(wire))


def handle(req, out, state):
    model = _model(req.path)
    method = _method(req.path)
    body = req.body or {}
    if method == "countTokens":
        out.json(200, {"totalTokens": 100})
        state.log(api=API, path=req.path, role="side", model=model, usage=common.zero())
        return
    if method not in ("streamGenerateContent", "generateContent"):
        out.json(404, _error_body(404, "NOT_FOUND", "mock: no method %s" % method))
        state.log(api=API, path=req.path, role="unrouted", method=method)
        return
    if not _is_main(body):
        _side(req, out, state, model, method)
        return
    i, turn = state.take_turn()
    kind = turn.get("do")
    if kind == "error":
        _error(out, turn, model)
        common.log_error(state, API, req.path, i, turn, model)
        return
    if kind in ("cut", "hang"):
        inner, after = common.cut_or_hang(turn, 1, text="partial answer")
        chunks = _chunks(inner, model, body)
        # Logged first: a hung stream only ends when the client goes away.
        reported = chunks[min(after, len(chunks)) - 1][1] if after > 0 else common.zero()
        then = "eof" if kind == "cut" and turn.get("how") == "eof" else kind
        common.log_main(state, API, req.path, i, turn, reported, model, how=then)
        _stream(out, chunks, after=after, then=then)
        return
    chunks = _chunks(turn, model, body)
    if method == "streamGenerateContent":
        reported = _stream(out, chunks)
    else:
        reported = _one(out, chunks)
    common.log_main(state, API, req.path, i, turn, reported, model)
