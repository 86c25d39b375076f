"""Which container a record's process ran in: ``/proc/PID/cgroup``, read while the process lives.

The kernel's records name a pid, not a container. A live reader can look the pid up as the record
arrives: the process's cgroup path says which runtime or manager put it there and under which id.
Layouts (v2 ``0::/path``, or the v1 ``name=systemd``/``pids`` line of a hybrid host):

===========================  =====================================================================
runtime                      path (the container id is 64 hex digits unless said otherwise)
===========================  =====================================================================
runc (plain)                 ``/<container-id>`` (any name), confirmed by runc's ``/run/runc/<id>``
podman, cgroupfs manager     ``/libpod_parent/libpod-<id>``
podman, systemd manager      ``/machine.slice/libpod-<id>.scope`` (also under ``user.slice``)
docker                       ``/docker/<id>``, ``/system.slice/docker-<id>.scope``
containerd (CRI)             ``/kubepods/<qos>/pod<uid>/<id>``,
                             ``/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope``
CRI-O                        as containerd with ``crio-<id>.scope``
systemd unit (host)          ``/system.slice/<unit>``: ``systemd:<unit>``
===========================  =====================================================================

Plain runc and Podman's cgroupfs layout were seen on this project's test machine; the others come from
the runtimes' and the kubelet's documentation. ``/`` and the user and init slices are the host.

A pid can be reused: a record is attributed only when the process now holding its pid started before
the record was written (``/proc/PID/stat``'s start time; an exec keeps it, so ``nice`` that became
``sleep`` is still the process that wrote the record). The answer is cached per (pid, comm, exe), so a
process costs one lookup however many records it makes. A reader in another pid namespace than the
kernel's records (whose pids are the initial namespace's) attributes nothing. A process that exited
before its record was read cannot be looked up: short-lived processes may stay unattributed, and the
counts say how many. Anything else leaves the record unattributed with its reason; nothing is guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seccomp_gen.bounded import remember

HOST = "host"
PROC = Path("/proc")
RUNC_STATE = Path("/run/runc")
CACHE_MAX = 65_536  # (pid, comm, exe) answers kept; cleared when full
# Records older than this when they are read are not looked up: the pid may be another process by now.
LIVE_SECONDS = 30.0
# A process that started this much after its record was written is another process with the same pid.
START_SLACK = 1.0

_ID = r"[0-9a-f]{64}"
_UID = r"[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}"
_LAYOUTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("podman", re.compile(rf"/libpod-(?P<id>{_ID})(?:\.scope)?(?:/|$)")),
    ("cri-o", re.compile(rf"/crio-(?P<id>{_ID})(?:\.scope)?$")),
    ("containerd", re.compile(rf"/cri-containerd-(?P<id>{_ID})\.scope$")),
    ("docker", re.compile(rf"/docker[-/](?P<id>{_ID})(?:\.scope)?$")),
    ("kubepods", re.compile(rf"/kubepods\b.*/pod{_UID}(?:\.slice)?/(?P<id>{_ID})$")),
)
_POD = re.compile(rf"pod(?P<uid>{_UID})")
_QOS = re.compile(r"kubepods[-/](?P<qos>burstable|besteffort)\b")
_UNIT = re.compile(r"^/system\.slice/(?P<unit>[^/]+\.(?:service|scope))$")
_RUNC_NAME = re.compile(r"^/(?P<id>[A-Za-z0-9][A-Za-z0-9_+\-.]{0,1023})$")  # runc's own id rule


@dataclass(frozen=True, slots=True)
class Container:
    """Where a process ran: ``runtime:id`` (or ``host``), with the pod where the path names one."""

    runtime: str  # "runc", "podman", "docker", "containerd", "cri-o", "kubepods", "systemd", "host"
    id: str = ""
    pod: str = ""  # Kubernetes pod UID, dashes
    qos: str = ""  # "guaranteed", "burstable", "besteffort" (kubepods paths only)

    @property
    def label(self) -> str:
        """What the state stores and filters match: ``runc:web-1``, ``podman:4329…``, ``host``."""
        return HOST if self.runtime == HOST else f"{self.runtime}:{self.id}"


def cgroup_path(text: str) -> str | None:
    """The path that places a process: the v2 line, else the v1 ``name=systemd`` or ``pids`` line.

    None when no line has the ``N:controllers:/path`` shape.
    """
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[2].startswith("/"):
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            paths.setdefault(controller, parts[2])
    for controller in ("", "name=systemd", "pids"):
        path = paths.get(controller)
        if path is not None and (path != "/" or controller == "pids" or len(paths) == 1):
            return path
    return next(iter(paths.values()), None)


def classify(path: str, *, runc_state: Path = RUNC_STATE) -> Container:
    """The container a cgroup path stands for (see the module's table)."""
    for runtime, pattern in _LAYOUTS:
        found = pattern.search(path)
        if found:
            pod = _POD.search(path)
            qos = _QOS.search(path)
            return Container(
                "containerd" if runtime == "kubepods" else runtime,
                found["id"],
                pod["uid"].replace("_", "-") if pod else "",
                (qos["qos"] if qos else "guaranteed") if "kubepods" in path else "",
            )
    unit = _UNIT.match(path)
    if unit:
        return Container("systemd", unit["unit"])
    runc = _RUNC_NAME.match(path)
    if runc and not path.endswith((".slice", ".scope")) and (runc_state / runc["id"]).is_dir():
        return Container("runc", runc["id"])
    return Container(HOST)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A record's attribution: the container, or why there is none (``reason``)."""

    container: Container | None
    reason: str = ""


class Attributor:
    """Looks processes up in /proc, once per (pid, comm, exe); see the module's docstring."""

    def __init__(
        self,
        proc: Path = PROC,
        runc_state: Path = RUNC_STATE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.proc = proc
        self.runc_state = runc_state
        self.clock = clock or time.time
        self.lookups = 0  # /proc reads done (for the benchmark and the tests)
        self._cache: dict[tuple[int, str, str], Lookup] = {}
        self._boot: float | None = None
        self._initial: bool | None = None
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def attribute(self, pid: int | None, comm: str, exe: str, when: float | None) -> Lookup:
        """The container of the process that wrote a record at ``when`` (epoch seconds)."""
        if pid is None or pid <= 0:
            return Lookup(None, "no-pid")
        if not self._initial_pid_namespace():
            return Lookup(None, "other-pid-namespace")
        if when is not None and self.clock() - when > LIVE_SECONDS:
            return Lookup(None, "read-after-the-fact")
        key = (pid, comm, exe)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        return remember(self._cache, key, self._look_up(pid, when), CACHE_MAX)

    def _look_up(self, pid: int, when: float | None) -> Lookup:
        self.lookups += 1
        base = self.proc / str(pid)
        try:
            stat = (base / "stat").read_text()
            cgroup = (base / "cgroup").read_text()
        except FileNotFoundError:
            return Lookup(None, "process-gone")
        except OSError:
            return Lookup(None, "proc-unreadable")
        seen_comm, start = _parse_stat(stat)
        if seen_comm is None or start is None:
            return Lookup(None, "malformed-proc")
        boot = self._boot_time()
        if when is not None and boot is not None and boot + start / self._ticks > when + START_SLACK:
            return Lookup(None, "pid-reused")
        path = cgroup_path(cgroup)
        if path is None:
            return Lookup(None, "malformed-cgroup")
        return Lookup(classify(path, runc_state=self.runc_state))

    def _initial_pid_namespace(self) -> bool:
        """True when /proc shows the kernel's initial pid namespace (pid 2 is kthreadd there)."""
        if self._initial is None:
            try:
                self._initial = (self.proc / "2" / "comm").read_text().strip() == "kthreadd"
            except OSError:
                self._initial = False
        return self._initial

    def _boot_time(self) -> float | None:
        if self._boot is None:
            try:
                for line in (self.proc / "stat").read_text().splitlines():
                    if line.startswith("btime "):
                        self._boot = float(line.split()[1])
                        break
            except (OSError, ValueError, IndexError):
                return None
        return self._boot


def _parse_stat(text: str) -> tuple[str | None, int | None]:
    """(comm, start time in clock ticks since boot) from ``/proc/PID/stat``; Nones when malformed."""
    open_, close = text.find("("), text.rfind(")")
    if open_ < 0 or close < open_:
        return None, None
    fields = text[close + 2 :].split()
    try:
        return text[open_ + 1 : close], int(fields[19])
    except (IndexError, ValueError):
        return None, None


def container_matches(label: str, patterns: tuple[str, ...]) -> bool:
    """Whether a stored container label (``runc:web-1``, ``host``, '') matches any of ``patterns``.

    A pattern matches the whole label or the id alone, exactly, as a prefix (``4329079a`` for a
    64-digit id, as ``podman ps`` shortens it) or as a glob (``web-*``, ``podman:*``).
    """
    from fnmatch import fnmatchcase

    ident = label.split(":", 1)[1] if ":" in label else label
    for pattern in patterns:
        if not label:
            continue
        if pattern in (label, ident) or ident.startswith(pattern) or label.startswith(pattern):
            return True
        if fnmatchcase(label, pattern) or fnmatchcase(ident, pattern):
            return True
    return False


def in_scope(label: str, pod: str, containers: tuple[str, ...], pods: tuple[str, ...]) -> bool:
    """``--container``/``--pod`` as every command reads them: a container pattern matches (see
    ``container_matches``) and a pod UID starts with one given; an empty tuple asks nothing."""
    if containers and not container_matches(label, containers):
        return False
    return not pods or any(pod and pod.startswith(wanted) for wanted in pods)


__all__ = [
    "HOST",
    "Attributor",
    "Container",
    "Lookup",
    "cgroup_path",
    "classify",
    "container_matches",
    "in_scope",
]
