"""The state as a whole, summed by SQLite in bounded memory: what ``seccomp-gen status`` shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from seccomp_gen.coverage import Coverage
from seccomp_gen.observations import LossRow
from seccomp_gen.sources import Position
from seccomp_gen.store import Store


@dataclass(frozen=True, slots=True)
class AbiSummary:
    """One ABI: how many distinct syscalls, how many records."""

    abi: str
    syscalls: int
    records: int


@dataclass(frozen=True, slots=True)
class ProcessSummary:
    """One (comm, exe): how many distinct syscalls and records, and whether its learning looks done."""

    comm: str
    exe: str
    syscalls: int
    records: int
    seen_once: int = 0  # syscalls with exactly one record of this process
    first_seen: float | None = None
    last_seen: float | None = None
    last_new: float | None = None  # when this process's newest syscall was first seen

    @property
    def coverage(self) -> Coverage:
        """The process's figures as a ``Coverage``."""
        return Coverage(
            self.records, self.syscalls, self.seen_once, self.first_seen, self.last_seen, self.last_new
        )


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    """One container (``runc:web-1``, ``host``; '' for records not attributed): its pod and counts."""

    container: str
    pod: str
    syscalls: int
    records: int
    processes: int


@dataclass(frozen=True, slots=True)
class SyscallSummary:
    """One syscall on one ABI, with its records summed over processes and actions."""

    abi: str
    number: int
    name: str | None
    records: int


@dataclass(frozen=True, slots=True)
class StateSummary:
    """Everything ``status`` shows."""

    path: str
    schema: int
    created: float | None
    updated: float | None
    abis: tuple[AbiSummary, ...]
    processes: tuple[ProcessSummary, ...]  # the SHOWN_ROWS with the most records
    positions: tuple[Position, ...]
    losses: tuple[LossRow, ...]
    unknown: tuple[SyscallSummary, ...]  # numbers no table knows (or without a known ABI)
    untrusted_only: tuple[SyscallSummary, ...]  # learned only from lines anyone could have written
    counters: dict[tuple[str, str], int]
    event_ids: int
    coverage: Coverage = field(default_factory=lambda: Coverage(0, 0, 0, None, None, None))
    containers: tuple[ContainerSummary, ...] = ()  # the SHOWN_ROWS with the most records
    # how many rows there are in all, where a list above shows at most SHOWN_ROWS of them
    totals: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """Plain JSON-able values, stable key order."""
        from dataclasses import asdict

        return {
            "state": self.path,
            "schema": self.schema,
            "created": self.created,
            "updated": self.updated,
            "abis": [asdict(a) for a in self.abis],
            "coverage": self.coverage.to_json(),
            "containers": [asdict(c) for c in self.containers],
            "processes": [_process_json(p) for p in self.processes],
            "totals": dict(self.totals),
            "sources": [asdict(p) for p in self.positions],
            "losses": [asdict(row) for row in self.losses],
            "unknown_numbers": [asdict(s) for s in self.unknown],
            "untrusted_only": [asdict(s) for s in self.untrusted_only],
            "counters": {f"{kind}:{reason}": n for (kind, reason), n in sorted(self.counters.items())},
            "event_ids": self.event_ids,
        }


def _process_json(p: ProcessSummary) -> dict[str, object]:
    return {"comm": p.comm, "exe": p.exe, **p.coverage.to_json()}


SHOWN_ROWS = 200  # status lists at most this many processes, unknown and untrusted-only syscalls

# Per (abi, number): its records and when it was first seen; whole-state and per-process figures come
# from these in SQL, so that a state of a million forged processes is summed, not loaded.
_PER_SYSCALL = """
SELECT abi, number, max(name) AS name, sum(count) AS n, min(first_seen) AS first, max(last_seen) AS last,
       max(trusted) AS trusted
FROM observations GROUP BY abi, number
"""
_PER_PROCESS = """
SELECT comm, exe, count(*), sum(n), sum(n = 1), min(first), max(last), max(first)
FROM (SELECT comm, exe, abi, number, sum(count) AS n, min(first_seen) AS first, max(last_seen) AS last
      FROM observations GROUP BY comm, exe, abi, number)
GROUP BY comm, exe ORDER BY sum(n) DESC, comm, exe LIMIT ?
"""


def _scope(sql: str, scoped: bool) -> str:
    """``sql`` over the observations ``sg_keep`` keeps, when ``scoped``."""
    if not scoped:
        return sql
    return sql.replace("FROM observations", "FROM (SELECT * FROM observations WHERE sg_keep(container, pod))")


def coverage_of(store: Store, scoped: bool = False) -> Coverage:
    """The whole state's ``Coverage`` (of the kept containers, ``scoped``): is learning done?"""
    ((records, syscalls, once, first, last, last_new),) = store._read(
        "SELECT coalesce(sum(n), 0), count(*), coalesce(sum(n = 1), 0), min(first), max(last), max(first) "
        f"FROM ({_scope(_PER_SYSCALL, scoped)})"
    )
    return Coverage(int(records), int(syscalls), int(once), first, last, last_new)


def summarize(store: Store, keep: Callable[[str, str], bool] | None = None) -> StateSummary:
    """What ``status`` shows, summed by SQLite: memory stays flat whatever the state holds.

    ``keep(container, pod)``: only the observations it is true of (``status --container``).
    """
    scoped = keep is not None
    if keep is not None:
        store._db.create_function("sg_keep", 2, lambda c, p: bool(keep(c, p)), deterministic=True)
    per = f"({_scope(_PER_SYSCALL, scoped)})"
    abis = [AbiSummary(*row) for row in store._read(f"SELECT abi, count(*), sum(n) FROM {per} GROUP BY abi")]
    processes = [ProcessSummary(*row) for row in store._read(_scope(_PER_PROCESS, scoped), (SHOWN_ROWS,))]

    def syscalls_where(condition: str) -> tuple[list[SyscallSummary], int]:
        rows = store._read(
            f"SELECT abi, number, name, n FROM {per} WHERE {condition} ORDER BY abi, number LIMIT ?",
            (SHOWN_ROWS,),
        )
        ((total,),) = store._read(f"SELECT count(*) FROM {per} WHERE {condition}")
        return [SyscallSummary(*row) for row in rows], int(total)

    unknown, unknown_total = syscalls_where("name IS NULL")
    untrusted, untrusted_total = syscalls_where("trusted = 0")
    ((process_total,),) = store._read(
        _scope("SELECT count(*) FROM (SELECT 1 FROM observations GROUP BY comm, exe)", scoped)
    )
    containers = [
        ContainerSummary(*row)
        for row in store._read(
            _scope(
                "SELECT container, max(pod), count(DISTINCT abi || ':' || number), sum(count), "
                "count(DISTINCT comm || '/' || exe) FROM observations GROUP BY container "
                "ORDER BY sum(count) DESC, container LIMIT ?",
                scoped,
            ),
            (SHOWN_ROWS,),
        )
    ]
    ((container_total,),) = store._read(_scope("SELECT count(DISTINCT container) FROM observations", scoped))
    return StateSummary(
        path=str(store.path),
        schema=store.schema_version,
        created=float(store.meta("created") or 0) or None,
        updated=store.last_update,
        abis=tuple(abis),
        processes=tuple(processes),
        positions=tuple(store.positions()),
        losses=tuple(store.losses()),
        unknown=tuple(unknown),
        untrusted_only=tuple(untrusted),
        counters=store.counters(),
        event_ids=store.event_id_count(),
        coverage=coverage_of(store, scoped),
        containers=tuple(containers),
        totals={
            "processes": int(process_total),
            "containers": int(container_total),
            "unknown": unknown_total,
            "untrusted_only": untrusted_total,
        },
    )
