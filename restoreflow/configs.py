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


def parse_yaml(text: str, source: str) -> Any:
    """YAML text -> data; malformed YAML is a one-line ConfigError naming ``source`` and where."""
    try:
        return yaml.safe_load(text)
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
                f"unknown key '{_join(path, str(key))}'{suggest(str(key), fields)}; "
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
    raise ConfigError(errors[0] if len(errors) == 1 else f"{key}: {value!r} fits none of {args}")


def _literal(args, value, key):
    if value not in args:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(repr, args))}{suggest(str(value), map(str, args))}")
    return value


def _tuple(args, value, key):
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
    return tuple(coerce(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))


def _dict(args, value, key):
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping, got {value!r}")
    key_type, value_type = args
    return {coerce(key_type, k, key): coerce(value_type, v, _join(key, str(k))) for k, v in value.items()}


def _bool(value, key):
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _int(value, key):
    if isinstance(value, bool) or not isinstance(value, int):  # True is an int in Python, not a count
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    return value


def _float(value, key):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    return float(value)


def _str(value, key):
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
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
            raise ConfigError(f"--set {item!r}: expected key=value")
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
