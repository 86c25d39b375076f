"""The container runtimes installed here, their versions, and which profile features each applies.

What a runtime supports decides whether a profile starts a container at all: runc 1.1 (Debian 12)
refuses any ``linux.seccomp.flags`` ("seccomp flags are not yet supported by runc"), so a profile
emitted with ``--log-denials`` cannot start under it. The table below is of versions where a feature
first worked; a runtime older than what it names, or not named, is "no" or "unknown".
"""

from __future__ import annotations

import enum
import re
import shutil
import subprocess
from dataclasses import dataclass


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


__all__ = ["RUNTIMES", "Feature", "Runtime", "describe", "installed", "parse_version"]
