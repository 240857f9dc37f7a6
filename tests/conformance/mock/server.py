#!/usr/bin/env python3
"""A mock model API on loopback for the conformance suite: the real agent CLIs talk to it.

It speaks, each in its own module:
  - Anthropic Messages (SSE)                 POST /v1/messages            anthropic.py
  - OpenAI Responses (SSE)                   POST /v1/responses           openai_responses.py
  - OpenAI Chat Completions (SSE or JSON)    POST /v1/chat/completions    openai_chat.py
  - Gemini generateContent / streamGenerateContent
                                             POST /v1beta/models/M:...    gemini.py

and follows a scripted scenario (a JSON file, see scenario.py): every *main* request (one the
agent's loop makes, with its tools) takes the next turn of the script; *side* requests (titles,
summaries, token counts a CLI makes on its own) get a short answer. Every request and every
token it reports is appended to a JSON-lines log, which is how a test knows the exact usage the
CLI was told about.

Only the Python standard library is used. It binds 127.0.0.1 only.

    server.py --scenario S.json --log L.jsonl [--port 8765] [--port-file F] [--dump-dir D]
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenario as scenario_mod  # noqa: E402

ROUTES = []  # (predicate(path) -> bool, module name), filled by register()


def register(prefix_or_pred, module_name):
    """Routes requests whose path starts with a prefix (or matches a predicate) to a module."""
    if isinstance(prefix_or_pred, str):
        prefix = prefix_or_pred
        ROUTES.append((lambda p, prefix=prefix: p.startswith(prefix), module_name))
    else:
        ROUTES.append((prefix_or_pred, module_name))


# Most specific first. opencode and aider are pointed at base URLs under their own prefix
# (http://127.0.0.1:8765/opencode/v1, .../aider/v1) so each CLI's OpenAI-style traffic has a
# module of its own.
register("/opencode/", "opencode_api")
register("/aider/", "aider_api")
register("/v1/messages", "anthropic")
# Claude Code sends `HEAD $ANTHROPIC_BASE_URL` (a preconnect) when it starts.
register(lambda p: p == "/", "anthropic")
register("/v1/responses", "openai_responses")
register("/responses", "openai_responses")
register("/v1/chat/completions", "openai_chat")
register("/chat/completions", "openai_chat")
register("/v1/models", "openai_chat")
register("/models", "openai_chat")
register(lambda p: "/models/" in p and ("generateContent" in p or "streamGenerateContent" in p or "countTokens" in p or "embedContent" in p), "gemini")


class Request:
    """One HTTP request, its JSON body parsed when it is JSON."""

    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.raw = raw
        try:
            self.body = json.loads(raw) if raw else None
        except ValueError:
            self.body = None


class Responder:
    """Writes a response: plain JSON, or a chunked SSE stream that can end cleanly, be cut
    (the connection closes mid-stream, no terminating chunk) or hang (nothing more is sent)."""

    def __init__(self, handler):
        self.h = handler
        self.streaming = False
        self.done = False

    def json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.h.send_response(status)
        self.h.send_header("content-type", "application/json")
        self.h.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        if self.h.command != "HEAD":  # a HEAD answer has headers only
            self.h.wfile.write(body)
        self.h.wfile.flush()
        self.done = True

    def sse_start(self, headers=None, content_type="text/event-stream"):
        self.h.send_response(200)
        self.h.send_header("content-type", content_type)
        self.h.send_header("cache-control", "no-cache")
        self.h.send_header("transfer-encoding", "chunked")
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        self.streaming = True

    def _chunk(self, data):
        self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.h.wfile.flush()

    def sse(self, data, event=None):
        """One SSE event; `data` is JSON-encoded unless it is already a string."""
        text = data if isinstance(data, str) else json.dumps(data)
        frame = ""
        if event:
            frame += "event: %s\n" % event
        frame += "data: %s\n\n" % text
        self._chunk(frame.encode())

    def raw_chunk(self, data):
        """Bytes in the stream as they are (e.g. NDJSON lines, or a JSON array's pieces)."""
        self._chunk(data if isinstance(data, bytes) else data.encode())

    def sse_end(self):
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()
        self.done = True

    def cut(self):
        """The connection drops mid-stream: reset, no terminating chunk."""
        try:
            self.h.wfile.flush()
            self.h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.h.close_connection = True
        self.done = True

    def hang(self, seconds=3600):
        """Sends nothing more until the client goes away (or `seconds` pass)."""
        deadline = time.time() + seconds
        conn = self.h.connection
        conn.settimeout(0.5)
        while time.time() < deadline:
            try:
                if conn.recv(1, socket.MSG_PEEK) == b"":
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        self.h.close_connection = True
        self.done = True


class State:
    """The scenario, the position in it and the log, shared by every request."""

    def __init__(self, scenario, log_path, dump_dir):
        self.scenario = scenario
        self.lock = threading.Lock()
        self.main_turns = 0
        self.requests = 0
        self.log_path = log_path
        self.dump_dir = dump_dir

    def take_turn(self):
        """The next turn of the script for a main request: (index, turn dict)."""
        with self.lock:
            i = self.main_turns
            self.main_turns += 1
        return i, self.scenario.turn(i)

    def log(self, **entry):
        entry.setdefault("t", time.time())
        with self.lock:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")

    def dump(self, req):
        if not self.dump_dir:
            return
        with self.lock:
            self.requests += 1
            n = self.requests
        name = "%04d%s.json" % (n, req.path.replace("/", "_").replace(":", "_")[:80])
        with open(os.path.join(self.dump_dir, name), "w") as f:
            json.dump({"method": req.method, "path": req.path, "query": req.query,
                       "headers": dict(req.headers), "body": req.body if req.body is not None else req.raw.decode("utf-8", "replace")}, f, indent=1)


def make_handler(state):
    modules = {}

    def module(name):
        if name not in modules:
            modules[name] = __import__(name)
        return modules[name]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the JSON log is the record
            pass

        def _handle(self):
            split = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            req = Request(self.command, split.path, parse_qs(split.query), self.headers, raw)
            state.dump(req)
            out = Responder(self)
            for pred, name in ROUTES:
                if pred(req.path):
                    try:
                        module(name).handle(req, out, state)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True
                    except Exception as e:  # a mock bug must be visible, not a hang
                        traceback.print_exc()
                        state.log(api=name, path=req.path, role="mock-error", error=repr(e))
                        if not out.streaming and not out.done:
                            out.json(500, {"error": {"message": "mock error: %r" % e}})
                        elif out.streaming and not out.done:
                            out.cut()
                    return
            state.log(api="none", path=req.path, method=self.command, role="unrouted")
            out.json(404, {"error": {"message": "mock: no route for %s %s" % (self.command, req.path)}})

        do_POST = _handle
        do_GET = _handle
        do_PUT = _handle
        do_DELETE = _handle
        do_HEAD = _handle

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--dump-dir")
    args = ap.parse_args()
    if args.dump_dir:
        os.makedirs(args.dump_dir, exist_ok=True)
    state = State(scenario_mod.load(args.scenario), args.log, args.dump_dir)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.rename(tmp, args.port_file)
    print("mock model API on 127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
