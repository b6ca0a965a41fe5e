"""A small TOML writer for tests that build hostile or mutated scenario files (the standard
library reads TOML but does not write it)."""

from __future__ import annotations

import datetime
import json
import math


def toml_key(key) -> str:
    """A bare key when TOML allows one, else a quoted (JSON-escaped) key."""
    key = str(key)
    if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
        return key
    return json.dumps(key, ensure_ascii=False)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON escapes are TOML escapes (lone surrogates: TOML refuses them)
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def dumps(data: dict) -> str:
    """Top-level keys one per line, every table inline."""
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in data.items())
