"""Walking and editing scenario data (nested dicts and lists, as ``tomllib`` reads them), for
tests that mutate valid scenarios into hostile or broken ones."""

from __future__ import annotations

import copy
from collections.abc import Iterator


def walk(node, prefix: tuple = (), max_depth: int | None = None) -> Iterator[tuple[tuple, object]]:
    """Every (path, value) below ``node``, down to ``max_depth`` levels when given; a path is
    a tuple of keys and list indices."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,), value
        if max_depth is None or len(prefix) + 1 < max_depth:
            yield from walk(value, prefix + (key,), max_depth)


def replaced(data: dict, path: tuple, value) -> dict:
    """A deep copy of ``data`` with the value at ``path`` replaced."""
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def deleted(data: dict, path: tuple) -> dict:
    """A deep copy of ``data`` without the key at ``path``."""
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return data


def is_number(value) -> bool:
    """An int or float, not a bool (TOML's booleans are Python ints)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
