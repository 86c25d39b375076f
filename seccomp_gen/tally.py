"""Learn's pending records, de-duplicated by event id and summed per decision slot.

A *slot* is what learn made of a record's prototype (every field but the stamp, serial, pid and ip):
the observation it counts into, or the counter it is dropped under. The C accelerator's Scanner
decides each prototype once (``seccomp_gen.learn``'s ``decide``) and then only counts its records
into a ``Tally``, in C; records learn judges one at a time are added with ``add``. Both keep input
order. ``drain`` runs at each flush: every record with an event id (stamp and serial) seen before, in
the ids the state already holds (``known``) or earlier in the batch, is a duplicate, unless it was
seen only untrusted and is now read from a trusted source (an *upgrade*); the rest are summed per slot.

Event ids are kept as *blobs*: the ids of one batch, sorted, each as two LEB128 numbers, the
milliseconds after the previous id's, then the serial's zigzag difference from the previous one
shifted left once with the trust in the low bit. A kernel's serials and stamps rise together, so
most differences are 0 or 1 and the blob compresses to a fraction of a byte an id (``zlib``): the
state remembers every id, with no window, at a cost that grows with the gaps in the serials.

``PyTally`` is the reference; ``seccomp_gen._accel.Tally`` gives the same results (the tests compare).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

SlotSum = tuple[int, int, int, float | None, float | None, int | None]  # slot, records, upgrades, ...
IdBlob = tuple[int, int, int, bytes]  # the stamps (ms) of its first and last id, how many, the blob


class Tally(Protocol):
    """What learn and the store need of a tally (``PyTally`` or the C one)."""

    @property
    def tallied(self) -> int: ...  # records a Scanner tallied, kept or not (running total)

    def __len__(self) -> int: ...

    def add(self, slot: int, stamp: float | None, ts_ms: int, serial: int, pid: int | None) -> None: ...

    def take_raw(self) -> list[tuple[int, int]]: ...

    def ranges(self, most: int, min_gap: int, /) -> list[tuple[int, int]]: ...

    def drain(
        self, known: list[bytes], trusted: bytes | bytearray, ranges: list[tuple[int, int]], /
    ) -> tuple[list[SlotSum], int, list[IdBlob]]: ...


class _Record(NamedTuple):
    slot: int
    stamp: float | None
    ts_ms: int
    serial: int
    pid: int | None


class PyTally:
    """The pure-Python tally (the reference; the C accelerator's ``Tally`` is the fast one)."""

    def __init__(self) -> None:
        self._records: list[_Record] = []
        self.tallied = 0  # a pure-Python parser tallies nothing itself: learn adds every record

    def __len__(self) -> int:
        return len(self._records)

    def add(self, slot: int, stamp: float | None, ts_ms: int, serial: int, pid: int | None) -> None:
        """Append one kept record (``serial`` 0: it has no event id)."""
        self._records.append(_Record(slot, stamp, ts_ms, serial, pid))

    def take_raw(self) -> list[tuple[int, int]]:
        """Per-slot counts of records a Scanner tallied: none here."""
        return []

    def ranges(self, most: int, min_gap: int) -> list[tuple[int, int]]:
        """The milliseconds of the pending records that have an event id, as sorted, disjoint ranges:
        cut at the widest gaps wider than ``min_gap``, at most ``most`` ranges (of equal gaps, the
        earliest cut). A batch's ids are looked up and kept per range, so that one far-off stamp
        makes neither the batch nor its blob span everything between."""
        if most < 1:
            raise ValueError("most must be at least 1")
        stamps = sorted(r.ts_ms for r in self._records if r.serial)
        if not stamps:
            return []
        pairs = enumerate(itertools.pairwise(stamps), start=1)
        gaps = [(b - a, at) for at, (a, b) in pairs if b - a > min_gap]
        cuts = sorted(at for _size, at in sorted(gaps, key=lambda gap: (-gap[0], gap[1]))[: most - 1])
        starts, stops = [0, *cuts], [*cuts, len(stamps)]
        return [(stamps[a], stamps[b - 1]) for a, b in zip(starts, stops, strict=True)]

    def drain(
        self, known: list[bytes], trusted: bytes | bytearray, ranges: list[tuple[int, int]]
    ) -> tuple[list[SlotSum], int, list[IdBlob]]:
        """(per-slot sums in first-reached order, duplicates, the ids new to ``known`` as one blob per
        range of ``ranges`` that holds any); empties the tally."""
        seen: dict[tuple[int, int], int] = {}  # id -> 2 trusted, 1 untrusted
        for blob in known:
            for ident, state in decode(blob):
                seen[ident] = max(seen.get(ident, 0), state)
        sums: dict[int, _Sum] = {}
        fresh: set[tuple[int, int]] = set()
        duplicates = 0
        for record in self._records:
            if record.slot >= len(trusted):
                raise ValueError("a record's slot is not in trusted")
            state = 2 if trusted[record.slot] else 1
            upgrade = 0
            if record.serial:
                ident = (record.ts_ms, record.serial)
                before = seen.get(ident, 0)
                if before >= state:
                    duplicates += 1
                    continue
                upgrade = int(before == 1)
                seen[ident] = state
                fresh.add(ident)
            total = sums.get(record.slot)
            if total is None:
                total = sums[record.slot] = _Sum()
            total.add(record, upgrade)
        self._records = []
        rows = [(slot, s.count, s.upgrades, s.first, s.last, s.pid) for slot, s in sums.items()]
        return rows, duplicates, _per_range(sorted((ident, seen[ident]) for ident in fresh), ranges)


@dataclass(slots=True)
class _Sum:
    count: int = 0
    upgrades: int = 0
    first: float | None = None
    last: float | None = None
    pid: int | None = None

    def add(self, record: _Record, upgrade: int) -> None:
        self.count += 1
        self.upgrades += upgrade
        stamp = record.stamp
        if stamp is not None:
            self.first = stamp if self.first is None or stamp < self.first else self.first
            self.last = stamp if self.last is None or stamp > self.last else self.last
        if record.pid is not None:
            self.pid = record.pid


def _per_range(ids: list[tuple[tuple[int, int], int]], ranges: list[tuple[int, int]]) -> list[IdBlob]:
    """Sorted ids as one blob per range that holds any (ids past the last range: one more blob)."""
    blobs: list[IdBlob] = []
    at = 0
    his = iter([hi for _lo, hi in ranges])
    while at < len(ids):
        hi = next((hi for hi in his if hi >= ids[at][0][0]), None)
        part = [ident for ident in ids[at:] if hi is None or ident[0][0] <= hi]
        at += len(part)
        blobs.append((part[0][0][0], part[-1][0][0], len(part), encode(part)))
    return blobs


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def encode(ids: Sequence[tuple[tuple[int, int], int]]) -> bytes:
    """The blob of sorted, distinct ``((ts_ms, serial), state)`` pairs (state 2: trusted, 1: not)."""
    out = bytearray()
    ts = serial = 0
    for (ts_ms, number), state in ids:
        delta = number - serial
        zigzag = delta << 1 if delta >= 0 else ((-delta) << 1) - 1
        _varint(ts_ms - ts, out)
        _varint((zigzag << 1) | (state == 2), out)
        ts, serial = ts_ms, number
    return bytes(out)


def decode(blob: bytes) -> list[tuple[tuple[int, int], int]]:
    """The ``((ts_ms, serial), state)`` pairs of a blob; ValueError when it is not one."""
    values: list[int] = []
    value = shift = 0
    for byte in blob:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            if shift >= 64:
                raise ValueError("malformed event id blob")
            continue
        values.append(value)
        value = shift = 0
    if shift or len(values) % 2:
        raise ValueError("malformed event id blob")
    ids: list[tuple[tuple[int, int], int]] = []
    ts = serial = 0
    for at in range(0, len(values), 2):
        ts += values[at]
        zigzag = values[at + 1] >> 1
        serial += (zigzag >> 1) ^ -(zigzag & 1)
        if not 0 < serial <= 0xFFFFFFFF:
            raise ValueError("malformed event id blob")
        ids.append(((ts, serial), 2 if values[at + 1] & 1 else 1))
    return ids


def stamp_ms(stamp: float) -> int:
    """The milliseconds of an event id's stamp (as the C loop takes them from the digits)."""
    return round(stamp * 1000) if math.isfinite(stamp) else 0
