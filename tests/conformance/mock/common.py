"""What the API modules share: the answer to side requests, cut and hung streams, SSE
streaming, the log entries of main requests, and OpenAI's error bodies (Responses and Chat
Completions alike)."""

import time

import scenario as scenario_mod


def zero():
    """A normalized usage of nothing (what an error, or a stream stopped before its usage,
    reported)."""
    return scenario_mod.usage(None)


def side_turn(state):
    """The scenario's answer to a side request, as a text turn."""
    side = state.scenario.side
    return {"do": "text", "text": side.get("text", "ok"), "usage": side.get("usage")}


def cut_or_hang(turn, default_after, text="..."):
    """For a `cut` or `hang` turn: (the turn it starts answering, how many pieces it sends)."""
    inner = turn.get("turn") or {"do": "text", "text": text}
    return inner, int(turn.get("after", default_after))


def stop(out, then, settle=0.0):
    """Ends an answer early: `cut` drops the connection (after `settle` seconds, so the client
    can read what was sent: a reset discards data still unread in its socket), anything else
    hangs."""
    if then == "cut":
        if settle:
            time.sleep(settle)
        out.cut()
    else:
        out.hang()


def stream(out, frames, after=None, then=None, headers=None, done=False, settle=0.0):
    """Streams SSE `frames` [(event name or None, data)]; with `after`, only the first `after`
    of them, then `stop(out, then, settle)`. `done` ends the stream with OpenAI's
    `data: [DONE]`."""
    out.sse_start(headers)
    for n, (name, data) in enumerate(frames):
        if after is not None and n >= after:
            stop(out, then, settle)
            return
        out.sse(data, event=name)
    if done:
        out.sse("[DONE]")
    out.sse_end()


def log_main(state, api, path, i, turn, usage, model, **extra):
    """Logs main request `i` (which took `turn`) and the normalized `usage` it was sent."""
    state.log(api=api, path=path, role="main", turn=i, kind=turn.get("do"), usage=usage,
              model=model, **extra)


def log_error(state, api, path, i, turn, model, **extra):
    """Logs main request `i` answered with the error `turn` (no usage)."""
    log_main(state, api, path, i, turn, zero(), model, error=turn.get("error"), **extra)


OPENAI_QUOTA_MESSAGE = ("You exceeded your current quota, please check your plan and billing details. "
                        "For more information on this error, read the docs: "
                        "https://platform.openai.com/docs/guides/error-codes/api-errors.")


def openai_key_message(key):
    """OpenAI's message for a rejected API key."""
    return ("Incorrect API key provided: %s. You can find your API key at "
            "https://platform.openai.com/account/api-keys." % key)


# Error kind -> (HTTP status, `type`, `code`, default message); a rate limit's message is the
# module's own.
OPENAI_ERRORS = {
    "rate_limit": (429, "requests", "rate_limit_exceeded", None),
    "quota": (429, "insufficient_quota", "insufficient_quota", OPENAI_QUOTA_MESSAGE),
    "auth": (401, "invalid_request_error", "invalid_api_key", openai_key_message("test-key")),
    "overloaded": (503, "server_error", None, "The server is overloaded."),
    "server": (500, "server_error", None, "The server had an error."),
}


def openai_error(out, turn, rate_limit_message, headers=None, retry_after_ms=True, **kinds):
    """Answers an error turn in OpenAI's shape `{"error": {"message", "type", "param",
    "code"}}`; returns the status. A rate limit says `rate_limit_message` and sends
    `retry-after` (and `retry-after-ms` unless told not to) when the turn gives `retry_after`.
    `kinds` replace the (status, type, code, message) of a kind of OPENAI_ERRORS; an unknown
    kind is a server error."""
    kind = turn.get("error")
    table = dict(OPENAI_ERRORS, **kinds)
    if kind not in table:
        kind = "server"
    status, etype, code, message = table[kind]
    headers = dict(headers or {})
    if kind == "rate_limit":
        message = rate_limit_message
        retry_after = turn.get("retry_after")
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
            if retry_after_ms:
                headers["retry-after-ms"] = str(int(float(retry_after) * 1000))
    out.json(status, {"error": {"message": turn.get("message") or message, "type": etype,
                                "param": None, "code": code}}, headers)
    return status
