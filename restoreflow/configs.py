"""Strict loading of frozen dataclasses from YAML-like mappings.

Unknown keys, missing required keys and values of the wrong type are errors that name the
full key (``train.learning_rate``), with a suggestion for likely typos. Dataclasses may
check ranges in ``__post_init__`` by raising ``ConfigError`` through ``check``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

import yaml


class ConfigError(ValueError):
    """A configuration value a user must fix; the message names the key."""


def check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


def suggest(name: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest of ``choices``, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


SHOWN_CHARS = 80  # an echoed value is cut to this many characters in an error message


def shown(value: Any) -> str:
    """``repr(value)`` for an error message, cut to a short prefix: a value can be megabytes
    (a long string, a huge list) and a message must stay one readable line."""
    text = repr(value) if not isinstance(value, str) or len(value) <= 4 * SHOWN_CHARS else repr(value[: 4 * SHOWN_CHARS])
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load without aliases: nested anchors (a "billion laughs" file of a few hundred bytes)
    expand to gigabytes in memory, so no file a user gives may use them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"uses the alias *{shown(event.anchor)[1:-1]}: anchors and aliases are not accepted "
                "(they can expand without bound); write the values out", event.start_mark)
        return super().compose_node(parent, index)


def parse_yaml(text: str | bytes, source: str) -> Any:
    """YAML text (or UTF-8 bytes) -> data; malformed YAML, text that is not UTF-8 and aliases
    are one-line ConfigErrors naming ``source`` and where."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ConfigError(f"{source} is not UTF-8 text (byte 0x{text[e.start]:02x} at offset {e.start}); "
                              "save it as UTF-8") from None
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{source} is not valid YAML: {' '.join(problem.split())}{where}") from None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def from_mapping(cls, data: Any, path: str = ""):
    """Builds dataclass ``cls`` from ``data``, rejecting unknown keys."""
    where = path or cls.__name__
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            raise ConfigError(
                f"unknown key {shown(_join(path, str(key)))}{suggest(str(key)[:SHOWN_CHARS], fields)}; "
                f"allowed: {', '.join(sorted(fields))}"
            )
    kwargs = {}
    for name, field in fields.items():
        key = _join(path, name)
        if name in data:
            kwargs[name] = coerce(hints[name], data[name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required key '{key}'")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from None


def coerce(hint, value: Any, key: str):
    """Checks and converts one value against a type hint; ``key`` names it in errors."""
    if hasattr(hint, "from_config"):
        return hint.from_config(value, key)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, key)
    origin = typing.get_origin(hint)
    if origin in _GENERICS:
        return _GENERICS[origin](typing.get_args(hint), value, key)
    if hint is Any:
        return value
    if hint in _SCALARS:
        return _SCALARS[hint](value, key)
    raise TypeError(f"{key}: unsupported type hint {hint!r}")


def _union(args, value, key):
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return coerce(arg, value, key)
        except ConfigError as e:
            errors.append(str(e))
    raise ConfigError(errors[0] if len(errors) == 1 else f"{key}: {shown(value)} fits none of {args}")


def _literal(args, value, key):
    if value not in args:
        raise ConfigError(f"{key}: {shown(value)} is not one of {', '.join(map(repr, args))}{suggest(str(value)[:SHOWN_CHARS], map(str, args))}")
    return value


def _tuple(args, value, key):
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected a list, got {shown(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
    return tuple(coerce(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))


def _dict(args, value, key):
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping, got {shown(value)}")
    key_type, value_type = args
    return {coerce(key_type, k, key): coerce(value_type, v, _join(key, str(k))) for k, v in value.items()}


def _bool(value, key):
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {shown(value)}")
    return value


def _int(value, key):
    if isinstance(value, bool) or not isinstance(value, int):  # True is an int in Python, not a count
        raise ConfigError(f"{key}: expected an integer, got {shown(value)}")
    return value


def _float(value, key):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {shown(value)}")
    return float(value)


def _str(value, key):
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {shown(value)}")
    return value


_GENERICS = {Union: _union, types.UnionType: _union, Literal: _literal, tuple: _tuple, dict: _dict}
_SCALARS = {bool: _bool, int: _int, float: _float, str: _str}


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Applies ``--set a.b=value`` overrides (values parsed as YAML) to a nested dict copy.

    The override's key must already be a valid path once the result is loaded strictly, so a
    typo is reported by ``from_mapping`` with the key named.
    """
    result = _deep_copy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {shown(item)}: expected key=value")
        dotted, raw = item.split("=", 1)
        value = parse_yaml(raw, f"--set {dotted}") if raw.strip() else ""
        node = result
        parts = dotted.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {dotted}: '{part}' is not a section")
            node = child
        node[parts[-1]] = value
    return result


def _deep_copy(data):
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def to_plain(obj) -> Any:
    """A dataclass tree -> plain dicts/lists, for writing the resolved configuration."""
    if hasattr(obj, "to_config"):
        return obj.to_config()
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj
