"""Types of the C accelerator ``seccomp_gen._accel`` (built from ``_accel.c`` when a compiler is there)."""

from collections.abc import Callable
from typing import Any

MAX_LINE: int
CACHE_MAX: int

def count_lines(data: bytes, /) -> int: ...
def tune_allocator() -> bool: ...

class Scanner:
    def __init__(
        self,
        front_spans: Callable[[bytes], tuple[int, ...]],
        proto: Callable[[bytes, bytes, bytes, bytes], dict[str, object]],
        event_type: type,
        auditd: bool,
        pid_max: int,
        seed: int,
    ) -> None: ...
    def scan(
        self, data: bytes, out: list[Any], rest: Callable[[int, int], None], /
    ) -> tuple[int, int, int]: ...
