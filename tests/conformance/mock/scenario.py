"""Scenarios: what the mock answers, turn by turn.

A scenario is a JSON object:

    {
      "turns": [TURN, ...],          # main requests take these in order
      "when_done": TURN,             # after the last turn (default: a 500 "script exhausted")
      "side": {"text": "ok", "usage": USAGE}   # answer to side requests (titles, summaries...)
    }

A TURN is one of
    {"do": "tool", "tool": "write", "path": P, "content": C, "text": T?, "usage": USAGE}
        the model calls the CLI's own file-writing tool to write C to P (each API module knows
        the CLI's tool name and argument names; aider gets an edit block), optionally after
        text T
    {"do": "tool", "tool": "shell", "command": CMD, "usage": USAGE}
        the model runs a shell command with the CLI's shell tool
    {"do": "text", "text": T, "usage": USAGE}
        a final answer
    {"do": "cut", "after": N, "turn": TURN}
        start answering TURN, then drop the connection after N stream events
    {"do": "hang", "after": N, "turn": TURN}
        start answering TURN, then send nothing more (until the client goes away)
    {"do": "error", "error": KIND, "retry_after": SECONDS?, "message": TEXT?}
        an HTTP error; KIND is one of
          rate_limit   429, a per-minute limit, with `retry-after` when given
          quota        429, the account's quota or billing is exhausted
          auth         401, the key is invalid
          overloaded   529 (Anthropic) / 503 (others)
          server       500

USAGE is {"input": uncached input tokens, "output": ..., "cache_read": ..., "cache_write": ...}
(missing keys are 0). Each API module reports it in its own wire form (OpenAI and Gemini count
cached tokens inside their input total and have no cache writes) and logs exactly what it sent,
normalized, so a test can compare the tokens the engine recorded with the tokens the CLI was
told about.
"""

import json

DEFAULT_SIDE = {"text": "ok", "usage": {"input": 0, "output": 0}}
EXHAUSTED = {"do": "error", "error": "server", "message": "mock: script exhausted"}


def usage(turn):
    """The turn's normalized usage, every key present."""
    u = (turn or {}).get("usage") or {}
    return {k: int(u.get(k, 0)) for k in ("input", "output", "cache_read", "cache_write")}


class Scenario:
    def __init__(self, obj):
        self.turns = list(obj.get("turns") or [])
        self.when_done = obj.get("when_done") or EXHAUSTED
        self.side = obj.get("side") or DEFAULT_SIDE
        self.raw = obj

    def turn(self, i):
        return self.turns[i] if i < len(self.turns) else self.when_done


def load(path):
    with open(path) as f:
        return Scenario(json.load(f))
