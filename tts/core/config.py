"""Configuration: frozen dataclasses, (de)serialised to plain dicts and overridden from TOML files.

Each stage defines its own frozen dataclass next to the code that uses it (``MelVAEConfig`` in
``tts/models/vae/mel_vae.py``, ``TrainConfig`` in ``tts/train/config.py`` …). This module only holds the
generic machinery so every config behaves the same way:

- ``to_dict(cfg)``  -> nested plain dict (JSON/TOML-safe), stored in every checkpoint;
- ``from_dict(cls, d)`` -> rebuilds the dataclass, recursing into nested dataclass fields and
  refusing unknown keys with a clear message (a typo in a recipe must not be silently ignored);
- ``override(cfg, d)`` -> a copy with some (possibly nested) fields replaced;
- ``load_toml(path)`` -> dict read from a recipe file.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def to_dict(cfg: Any) -> dict[str, Any]:
    """Nested plain-dict view of a (frozen) dataclass; tuples become lists."""
    if not dataclasses.is_dataclass(cfg):
        raise TypeError(f"expected a dataclass instance, got {type(cfg).__name__}")
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        out[f.name] = _plain(getattr(cfg, f.name))
    return out


def _plain(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return to_dict(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def from_dict(cls: type[T], d: dict[str, Any] | None) -> T:
    """Build dataclass ``cls`` from a (nested) dict; missing keys take their defaults."""
    if d is None:
        return cls()
    if not isinstance(d, dict):
        raise TypeError(f"{cls.__name__}: expected a table/dict, got {type(d).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown option(s) {unknown}; valid: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    for name, value in d.items():
        kwargs[name] = _coerce(hints[name], value, f"{cls.__name__}.{name}")
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value)
    if origin is tuple and isinstance(value, (list, tuple)):
        return tuple(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return from_dict(arg, value)
            if (arg is tuple or typing.get_origin(arg) is tuple) and isinstance(value, list):
                return tuple(value)
    return value


def override(cfg: T, changes: dict[str, Any] | None) -> T:
    """Copy of ``cfg`` with ``changes`` applied; nested dataclass fields take nested dicts."""
    if not changes:
        return cfg
    merged = _deep_merge(to_dict(cfg), changes)
    return from_dict(type(cfg), merged)


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML recipe file; a missing or malformed file is a clear error."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {p}")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"config file {p} is not valid TOML: {e}") from e
