"""Types of the C accelerator ``seccomp_gen._accel`` (built from ``_accel.c`` when a compiler is there)."""

from collections.abc import Callable
from typing import Any

MAX_LINE: int
CACHE_MAX: int

def count_lines(data: bytes, /) -> int: ...
def tune_allocator() -> bool: ...

class Tally:
    @property
    def tallied(self) -> int: ...
    def __len__(self) -> int: ...
    def add(self, slot: int, stamp: float | None, ts_ms: int, serial: int, pid: int | None, /) -> None: ...
    def take_raw(self) -> list[tuple[int, int]]: ...
    def ranges(self, most: int, min_gap: int, /) -> list[tuple[int, int]]: ...
    def drain(
        self, known: list[bytes], trusted: bytes | bytearray, ranges: list[tuple[int, int]], /
    ) -> tuple[
        list[tuple[int, int, int, float | None, float | None, int | None]],
        int,
        list[tuple[int, int, int, bytes]],
    ]: ...

class Scanner:
    def __init__(
        self,
        front_spans: Callable[[bytes], tuple[int, ...]],
        proto: Callable[[bytes, bytes, bytes, bytes], dict[str, object]],
        event_type: type,
        auditd: bool,
        pid_max: int,
        seed: int,
        other_kinds: bool = False,
        json_proto: Callable[[dict[str, object], str | None, str | None], dict[str, object]] | None = None,
    ) -> None: ...
    def scan(
        self,
        data: bytes,
        out: list[Any],
        rest: Callable[[int, int], None],
        tally: Any = None,
        decide: Callable[[dict[str, object]], int] | None = None,
        live_after: float = ...,
        max_stamp: float = ...,
        /,
    ) -> tuple[int, int, int, int]: ...
    def forget_slots(self) -> None: ...
    @property
    def proto_clears(self) -> int: ...
