"""A stage's ``with:`` config as a dataclass (``config_class``): building it from the parsed
JSON with type checks, and deriving a JSON Schema from it."""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Any, Dict, List, Tuple, Union

try:  # `str | None` (Python 3.10+) is a types.UnionType, `Optional[str]` a typing.Union
    from types import UnionType as _UnionType

    _UNIONS: Tuple[Any, ...] = (Union, _UnionType)
except ImportError:  # Python 3.9
    _UNIONS = (Union,)

_JSON_TYPES = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
}


class ConfigError(ValueError):
    """The config does not fit the stage's ``config_class``; the message names the field."""


def build(config_class: Any, data: Any) -> Any:
    """An instance of the dataclass ``config_class`` from ``data`` (the parsed ``with:``):
    unknown keys, missing required fields and values of the wrong type raise
    :class:`ConfigError` naming the field."""
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"config_class must be a dataclass, not {config_class!r}")
    if not isinstance(data, dict):
        raise ConfigError(f"the config must be a mapping (with: {{...}}), not {_json_type(data)}")
    hints = _hints(config_class)
    fields = {f.name: f for f in dataclasses.fields(config_class) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise ConfigError(f"unknown config key {unknown[0]!r} (known keys: {known})")
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"config key {name!r} is required")
            continue
        problem = _mismatch(data[name], hints.get(name, Any))
        if problem:
            raise ConfigError(f"config key {name!r}: {problem}")
    build_it: Any = config_class
    return build_it(**data)


def schema(config_class: Any) -> Dict[str, Any]:
    """A JSON Schema of the dataclass ``config_class``: an object with its fields as
    properties (types from the annotations, defaults shown), the fields without a default
    required, and no other keys."""
    hints = _hints(config_class)
    properties: Dict[str, Any] = {}
    required: List[str] = []
    for f in dataclasses.fields(config_class):
        if not f.init:
            continue
        prop = _type_schema(hints.get(f.name, Any))
        if f.default is not dataclasses.MISSING:
            if _is_json(f.default):
                prop["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
            if _is_json(default):
                prop["default"] = default
        else:
            required.append(f.name)
        properties[f.name] = prop
    out: Dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        out["required"] = required
    return out


def _hints(config_class: Any) -> Dict[str, Any]:
    module = sys.modules.get(config_class.__module__)
    try:
        return typing.get_type_hints(config_class, vars(module) if module else None)
    except Exception:  # an annotation that cannot be resolved is not checked
        return {}


def _type_schema(hint: Any) -> Dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    if origin in _UNIONS:
        kinds = [a for a in args if a is not type(None)]
        inner = [_type_schema(a) for a in kinds]
        types = [s.get("type") for s in inner]
        if all(isinstance(t, str) for t in types):
            if type(None) in args:
                types.append("null")
            return {"type": types[0] if len(types) == 1 else types}
        return {}
    if origin in (list, List):
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    if origin in (dict, Dict):
        return {"type": "object"}
    if origin is typing.Literal:
        return {"enum": list(args)}
    return {}


def _mismatch(value: Any, hint: Any) -> str:
    """Why ``value`` does not fit ``hint`` ("" when it does, or the hint is not checked)."""
    if hint is Any:
        return ""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in _UNIONS:
        if any(not _mismatch(value, a) for a in args):
            return ""
        return f"expected {_hint_name(hint)}, got {_json_type(value)} {value!r}"
    if origin is typing.Literal:
        return "" if value in args else f"expected one of {list(args)!r}, got {value!r}"
    if origin in (list, List):
        if not isinstance(value, list):
            return f"expected a list, got {_json_type(value)} {value!r}"
        for i, item in enumerate(value):
            problem = _mismatch(item, args[0]) if args else ""
            if problem:
                return f"item {i}: {problem}"
        return ""
    if origin in (dict, Dict):
        return "" if isinstance(value, dict) else f"expected a mapping, got {_json_type(value)}"
    if hint is type(None):
        return "" if value is None else f"expected null, got {value!r}"
    if hint in _JSON_TYPES:
        fits = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            fits = True
        return "" if fits else f"expected {_JSON_TYPES[hint]}, got {_json_type(value)} {value!r}"
    return ""


def _hint_name(hint: Any) -> str:
    if hint in _JSON_TYPES:
        return _JSON_TYPES[hint]
    if hint is type(None):
        return "null"
    args = typing.get_args(hint)
    if typing.get_origin(hint) in _UNIONS:
        return " or ".join(_hint_name(a) for a in args)
    return getattr(hint, "__name__", str(hint))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _is_json(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool))
