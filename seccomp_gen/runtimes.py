"""Container runtimes: which are installed here, their versions, which profile features each applies,
and what each one's own init calls under the container's filter (the base a profile must allow).

What a runtime supports decides whether a profile starts a container at all: runc 1.1 (Debian 12)
refuses any ``linux.seccomp.flags`` ("seccomp flags are not yet supported by runc"), so a profile
emitted with ``--log-denials`` cannot start under it. The table below is of versions where a feature
first worked; a runtime older than what it names, or not named, is "no" or "unknown".
"""

from __future__ import annotations

import enum
import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from seccomp_gen.errors import ProfileError

if TYPE_CHECKING:
    from seccomp_gen.observations import Observation


class Feature(enum.Enum):
    """A profile field a runtime may or may not apply."""

    FLAGS = "flags"  # linux.seccomp.flags (SECCOMP_FILTER_FLAG_LOG for --log-denials)
    DEFAULT_ERRNO = "defaultErrnoRet"
    NOTIFY = "notify"  # SCMP_ACT_NOTIFY with listenerPath


# (runtime, feature) → first version that applies it. runc: flags in 1.2.0 (1.1 refuses them, seen
# here with 1.1.5), defaultErrnoRet in 1.0.0, the seccomp notify listener in 1.1.0. crun applies all three
# from 1.0 on.
_FIRST_VERSION: dict[tuple[str, Feature], tuple[int, ...]] = {
    ("runc", Feature.FLAGS): (1, 2, 0),
    ("runc", Feature.DEFAULT_ERRNO): (1, 0, 0),
    ("runc", Feature.NOTIFY): (1, 1, 0),
    ("crun", Feature.FLAGS): (1, 0),
    ("crun", Feature.DEFAULT_ERRNO): (1, 0),
    ("crun", Feature.NOTIFY): (1, 0),
}
RUNTIMES = ("runc", "crun", "podman")
_VERSION = re.compile(r"\bversion (\d+(?:\.\d+)*)")


@dataclass(frozen=True, slots=True)
class Runtime:
    """One installed runtime: its name, path, and version as ``--version`` prints it."""

    name: str
    path: str
    version: str | None  # None: it did not say

    @property
    def version_tuple(self) -> tuple[int, ...] | None:
        """``"1.1.5"`` → ``(1, 1, 5)``."""
        return None if self.version is None else tuple(int(part) for part in self.version.split("."))

    def supports(self, feature: Feature) -> bool | None:
        """True or False where the table knows, None where it does not (podman: its OCI runtime's)."""
        first = _FIRST_VERSION.get((self.name, feature))
        have = self.version_tuple
        if first is None or have is None:
            return None
        return have >= first


def parse_version(text: str) -> str | None:
    """The first ``version X.Y.Z`` in a ``--version`` output (``runc version 1.1.5+ds1`` → ``1.1.5``)."""
    found = _VERSION.search(text)
    return None if found is None else found.group(1)


def installed(names: tuple[str, ...] = RUNTIMES) -> list[Runtime]:
    """The runtimes of ``names`` found on PATH, in that order."""
    found = []
    for name in names:
        path = shutil.which(name)
        if path is not None:
            found.append(Runtime(name, path, _version_of(path)))
    return found


def _version_of(path: str) -> str | None:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(done.stdout + done.stderr)


def describe(runtime: Runtime) -> str:
    """``runc 1.1.5: flags no, defaultErrnoRet yes, notify yes``."""
    words = {True: "yes", False: "no", None: "unknown"}
    features = ", ".join(f"{f.value} {words[runtime.supports(f)]}" for f in Feature)
    version = runtime.version or "version unknown"
    if runtime.name == "podman":
        return f"podman {version}: applies profiles through its OCI runtime (runc or crun)"
    return f"{runtime.name} {version}: {features}"


# --- what a runtime's own init calls under the container's filter ---------------------------

RUNTIME_COMMS = ("runc:[0:PARENT]", "runc:[1:CHILD]", "runc:[2:INIT]", "runc", "crun")
# The command names a runtime's own process has while the container's filter is already loaded:
# runc's init (seen here, through runc and through Podman); crun loads it in a process named crun.
INIT_COMMS = {"runc:[2:INIT]": "runc", "runc:[1:CHILD]": "runc", "runc:[0:PARENT]": "runc", "crun": "crun"}
BASE_AUTO = "auto"


@cache
def runtime_bases() -> Mapping[str, Any]:
    """The SPO-derived runtime lists in ``seccomp_gen/data/runtime_bases.json`` (the fallback)."""
    text = resources.files("seccomp_gen").joinpath("data/runtime_bases.json").read_text()
    bases: Mapping[str, Any] = json.loads(text)["bases"]
    return bases


@cache
def measured_bases() -> tuple[Mapping[str, Any], ...]:
    """The measurements in ``seccomp_gen/data/measured_bases.json`` (scripts/measure_runtime_base.py)."""
    text = resources.files("seccomp_gen").joinpath("data/measured_bases.json").read_text()
    return tuple(json.loads(text)["measurements"])


@dataclass(frozen=True, slots=True)
class RuntimeBase:
    """What a runtime's own init calls under the container's filter, and where the list comes from."""

    runtime: str
    names: tuple[str, ...]
    source: str  # "runc 1.1.5, measured over 700 starts", or the fallback's description
    measured: bool


def base_names(runtime: str) -> tuple[str, tuple[str, ...]]:
    """``(profile name, syscall names)`` of a runtime's SPO list, e.g. ``("runc-v1.4.2", (...))``."""
    bases = runtime_bases()
    if runtime not in bases:
        raise ProfileError(f"unknown runtime base {runtime!r}: choose one of {', '.join(sorted(bases))}")
    entry = bases[runtime]
    return str(entry["profile"]), tuple(entry["names"])


def runtime_base(runtime: str, version: str | None) -> RuntimeBase:
    """The base of ``runtime`` at ``version`` (None: not installed here).

    A measured version gets its measured set. Any other gets the SPO list united with every set we
    measured of that runtime, so that it is never smaller than what was seen to be needed.
    """
    profile, spo = base_names(runtime)
    mine = [m for m in measured_bases() if m["runtime"] == runtime]
    exact = [m for m in mine if version is not None and m["version"] == version]
    if exact:
        names = sorted({name for m in exact for name in m["names"]})
        starts = sum(int(m["starts"]) for m in exact)
        return RuntimeBase(runtime, tuple(names), f"{runtime} {version}, measured over {starts} starts", True)
    names = sorted(set(spo).union(*(m["names"] for m in mine)))
    where = f"{runtime} {version} is not measured" if version else f"no {runtime} found here"
    also = ", ".join(sorted({str(m["version"]) for m in mine}))
    source = f"{where}: the Security Profiles Operator's {profile} list" + (
        f" and the sets measured of {runtime} {also}" if also else ""
    )
    return RuntimeBase(runtime, tuple(names), source, False)


def detect_runtime(observations: Iterable[Observation]) -> tuple[str, str] | None:
    """``(runtime, comm)`` of the container runtime whose own process ran under the filter."""
    seen = sorted({obs.comm for obs in observations if obs.comm in INIT_COMMS})
    return None if not seen else (INIT_COMMS[seen[-1]], seen[-1])


__all__ = [
    "BASE_AUTO",
    "INIT_COMMS",
    "RUNTIMES",
    "RUNTIME_COMMS",
    "Feature",
    "Runtime",
    "RuntimeBase",
    "base_names",
    "describe",
    "detect_runtime",
    "installed",
    "measured_bases",
    "parse_version",
    "runtime_base",
    "runtime_bases",
]
