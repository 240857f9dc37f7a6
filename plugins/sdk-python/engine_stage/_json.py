"""JSON as the WIT records carry it: text that is parsed leniently and written strictly."""

from __future__ import annotations

import json
from typing import Any


def parse_lenient(text: str) -> Any:
    """Parses JSON text: empty text is ``None``, text that is not JSON is kept as a string."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def dumps(value: Any, what: str) -> str:
    """Compact JSON text of ``value``; a value that is not JSON raises ``TypeError`` naming
    ``what`` (e.g. ``outputs``) and the offending type."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{what} must be JSON (dict, list, str, int, float, bool, None): {e}"
        ) from e


def dumps_detail(value: Any) -> str:
    """JSON text of a failure's detail: ``None`` is ``{}`` (the WIT record's "no detail");
    values JSON cannot hold (a set, an object) are written with ``repr``, so that a detail
    never hides the failure it describes."""
    if value is None:
        return "{}"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)
