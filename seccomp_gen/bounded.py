"""The one rule for every cache kept while reading a log: bounded, emptied when full.

A log can hold any number of distinct values (a forger writes a new process name into each line), so
no cache may grow with its input. Emptying a full cache keeps the code of a look-up to one ``get``
and costs a refill only on logs that would have thrashed any eviction order anyway.
"""

from __future__ import annotations

from typing import TypeVar

_K = TypeVar("_K")
_T = TypeVar("_T")


def remember(cache: dict[_K, _T], key: _K, value: _T, most: int) -> _T:
    """Keep ``value`` under ``key`` (emptying ``cache`` first when it holds ``most``); return ``value``."""
    if len(cache) >= most:
        cache.clear()
    cache[key] = value
    return value


__all__ = ["remember"]
