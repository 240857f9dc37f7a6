"""OpenAI Chat Completions for aider, under the path prefix /aider/.

aider is pointed at the mock with OPENAI_API_BASE=http://127.0.0.1:8765/aider/v1 and a model
`openai/<name>` (litellm's OpenAI provider), so it sends `POST /aider/v1/chat/completions`. The
engine runs it with `--no-stream` (`"stream": false`: one JSON answer); a streamed request
(`"stream": true`) gets SSE chunks with the usage in the last one. aider has no tools: it edits
files from the model's TEXT, so a `{"do": "tool", "tool": "write"}` turn answers with an edit
block in aider's edit format (a SEARCH/REPLACE block with an empty SEARCH part when the request
explains SEARCH/REPLACE blocks, else the whole file under its path). Every chat request is a
*main* request (aider makes no side requests with --no-auto-commits and a short chat).

Usage in OpenAI's form: `prompt_tokens` counts every input token, cached ones included,
`prompt_tokens_details.cached_tokens` the cached part, `completion_tokens` the output. A turn
with `cache_write` tokens is answered the way an OpenAI-compatible proxy in front of Anthropic
(LiteLLM) answers: `prompt_tokens` = input + cache_read + cache_write, plus
`cache_read_input_tokens` and `cache_creation_input_tokens` (that is when aider prints its
two-line `Tokens: ... / Cost: ...` report).

Errors (scenario turn `{"do": "error", ...}`), in OpenAI's error shape:
  rate_limit  429 `rate_limit_exceeded`, `retry-after` when given
  quota       429 `insufficient_quota` ("You exceeded your current quota...")
  auth        401 `invalid_api_key`
  overloaded  503, server 500

`cut` drops the connection after N pieces of the answer (stream events, or for a JSON answer
N * 64 bytes of the body); `hang` stops sending there until aider goes away. The usage of a cut
or hung answer never reached aider, so it is logged as 0.
"""

import json
import time

import common
import scenario as scenario_mod

API = "aider-openai-chat"


def _sent_usage(turn):
    """(wire usage, normalized usage actually sent) for a turn."""
    u = scenario_mod.usage(turn)
    cached, written = u["cache_read"], u["cache_write"]
    prompt = u["input"] + cached + written
    wire = {
        "prompt_tokens": prompt,
        "completion_tokens": u["output"],
        "total_tokens": prompt + u["output"],
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    if written:
        wire["cache_read_input_tokens"] = cached
        wire["cache_creation_input_tokens"] = written
    return wire, dict(u)


def _uses_search_replace(body):
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if isinstance(content, str) and "<<<<<<< SEARCH" in content:
            return True
    return False


def _fence(content):
    return "```\n%s%s```" % (content, "" if content.endswith("\n") or not content else "\n")


def answer_text(turn, body):
    """The assistant's text for a turn: its words and, for a write, aider's edit block."""
    text = turn.get("text") or ""
    if turn.get("do") != "tool":
        return text
    if turn.get("tool") == "shell":
        block = "```bash\n%s\n```" % turn["command"]
    elif _uses_search_replace(body):
        content = turn.get("content", "")
        if content and not content.endswith("\n"):
            content += "\n"
        block = "%s\n```\n<<<<<<< SEARCH\n=======\n%s>>>>>>> REPLACE\n```" % (turn["path"], content)
    else:
        block = "%s\n%s" % (turn["path"], _fence(turn.get("content", "")))
    return (text + "\n\n" + block if text else block) + "\n"


def _error(out, turn):
    return common.openai_error(out, turn, "Rate limit reached for requests per min. Please try again in 1s.",
                               retry_after_ms=False)


def _json_answer(out, obj, after=None, then=None):
    if after is None:
        out.json(200, obj)
        return
    body = json.dumps(obj).encode()
    cut_at = min(len(body) - 1, max(0, after) * 64)
    out.sse_start(content_type="application/json")
    if cut_at:
        out.raw_chunk(body[:cut_at])
    common.stop(out, then)


def _chunk(cid, model, delta=None, finish=None, usage=None):
    obj = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
           "choices": [] if delta is None and finish is None else
           [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
    if usage is not None:
        obj["usage"] = usage
    return obj


def _stream_answer(out, cid, model, text, wire, after=None, then=None):
    events = [_chunk(cid, model, {"role": "assistant", "content": ""})]
    for i in range(0, len(text), 40):
        events.append(_chunk(cid, model, {"content": text[i:i + 40]}))
    events.append(_chunk(cid, model, {}, finish="stop"))
    events.append(_chunk(cid, model, usage=wire))
    common.stream(out, [(None, e) for e in events], after, then, done=True)


def handle(req, out, state):
    path = req.path
    if req.method == "GET" and path.endswith("/models"):
        state.log(api=API, path=path, role="side", kind="models", usage=common.zero())
        out.json(200, {"object": "list", "data": [{"id": "mock-coder", "object": "model", "owned_by": "mock"}]})
        return
    if not path.endswith("/chat/completions"):
        state.log(api=API, path=path, method=req.method, role="unrouted")
        out.json(404, {"error": {"message": "mock: aider_api has no %s %s" % (req.method, path)}})
        return
    body = req.body or {}
    model = body.get("model")
    stream = bool(body.get("stream"))
    i, turn = state.take_turn()
    kind = turn.get("do")
    if kind == "error":
        status = _error(out, turn)
        common.log_error(state, API, path, i, turn, model, status=status, stream=stream)
        return
    after = then = None
    answer = turn
    if kind in ("cut", "hang"):
        answer, after = common.cut_or_hang(turn, 0, text="")
        then = kind
    wire, normalized = _sent_usage(answer)
    text = answer_text(answer, body)
    cid = "chatcmpl-mock-%d" % i
    # The usage travels in the last piece: a cut or hung answer never delivers it.
    common.log_main(state, API, path, i, turn, common.zero() if then else normalized, model,
                    stream=stream)
    if stream:
        _stream_answer(out, cid, model, text, wire, after, then)
        return
    obj = {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": wire,
    }
    _json_answer(out, obj, after, then)
