"""The learned state: SQLite, one file, WAL, schema versioned with ``PRAGMA user_version``.

INTERFACE STUB — being implemented (issue 4). ``Observation`` and ``Store.observations`` are the
contract the profile stage (emit/merge) uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Observation:
    """An aggregate of records: one per (ABI, syscall number, comm, exe, action, trust)."""

    abi: str  # ABI name from seccomp_gen.abi, e.g. "x86_64", "i386", "x32"; "unknown" without arch=
    number: int  # as the record printed it (x32 keeps bit 0x40000000)
    name: str | None  # the ABI's name for it; None when no table knows the number
    comm: str
    exe: str
    action: str  # str(Action): "LOG", "ERRNO(EPERM)", "KILL_PROCESS", ...
    trusted: bool
    count: int
    first_seen: float | None = None
    last_seen: float | None = None
    sample_pid: int | None = None


class Store:
    """An open state database."""

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Store:
        """Open (creating and migrating unless ``readonly``) the state at ``path``."""
        raise NotImplementedError

    def observations(self) -> list[Observation]:
        """Every observation, sorted by (abi, number, comm, exe, action, trusted)."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and close."""
        raise NotImplementedError
