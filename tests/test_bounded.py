"""The one bounded-cache rule every cache kept while reading a log follows."""

from __future__ import annotations

from seccomp_gen.bounded import remember


def test_remember_keeps_and_returns_the_value() -> None:
    cache: dict[str, int] = {}
    assert remember(cache, "a", 1, most=4) == 1
    assert cache == {"a": 1}


def test_a_full_cache_is_emptied_before_the_next_value() -> None:
    cache: dict[int, int] = {}
    for n in range(4):
        remember(cache, n, n * n, most=4)
    assert len(cache) == 4
    assert remember(cache, 99, 7, most=4) == 7
    assert cache == {99: 7}


def test_a_cache_never_holds_more_than_its_bound() -> None:
    cache: dict[int, int] = {}
    sizes = {len(cache) for n in range(1000) if remember(cache, n, n, most=64) is not None}
    assert max(sizes) <= 64
