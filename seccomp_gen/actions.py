"""Seccomp return codes (the ``code=`` field) both ways.

``SECCOMP_RET_*`` values are from include/uapi/linux/seccomp.h (Linux 7.1.5). The high 16 bits
select the action; for ERRNO and TRACE the low 16 bits carry data (errno, trace message).
"""

from __future__ import annotations

import enum
import errno as _errno
from dataclasses import dataclass

RET_ACTION_FULL = 0xFFFF0000
RET_DATA = 0x0000FFFF


class ActionKind(enum.Enum):
    """The closed set of seccomp filter actions."""

    KILL_PROCESS = 0x80000000
    KILL_THREAD = 0x00000000
    TRAP = 0x00030000
    ERRNO = 0x00050000
    USER_NOTIF = 0x7FC00000
    TRACE = 0x7FF00000
    LOG = 0x7FFC0000
    ALLOW = 0x7FFF0000

    @property
    def scmp_name(self) -> str:
        """The name Docker/OCI profiles use, e.g. ``SCMP_ACT_ERRNO``."""
        return _SCMP_NAMES[self]

    @property
    def denies(self) -> bool:
        """True for actions that stop the call (everything but LOG and ALLOW)."""
        return self not in (ActionKind.LOG, ActionKind.ALLOW)


_SCMP_NAMES = {
    ActionKind.KILL_PROCESS: "SCMP_ACT_KILL_PROCESS",
    ActionKind.KILL_THREAD: "SCMP_ACT_KILL_THREAD",
    ActionKind.TRAP: "SCMP_ACT_TRAP",
    ActionKind.ERRNO: "SCMP_ACT_ERRNO",
    ActionKind.USER_NOTIF: "SCMP_ACT_NOTIFY",
    ActionKind.TRACE: "SCMP_ACT_TRACE",
    ActionKind.LOG: "SCMP_ACT_LOG",
    ActionKind.ALLOW: "SCMP_ACT_ALLOW",
}
_BY_CODE = {kind.value: kind for kind in ActionKind}


@dataclass(frozen=True, slots=True)
class Action:
    """A decoded ``code=`` value: the action and its 16-bit data (errno for ERRNO)."""

    kind: ActionKind
    data: int = 0

    @property
    def code(self) -> int:
        """The 32-bit return code the kernel logs for this action."""
        return self.kind.value | self.data

    def __str__(self) -> str:
        """``LOG``, ``ERRNO(EPERM)``, ``ERRNO(4095)``, ``TRACE(7)``, ``KILL_PROCESS``..."""
        if self.kind is ActionKind.ERRNO:
            return f"ERRNO({errno_name(self.data)})"
        if self.kind is ActionKind.TRACE and self.data:
            return f"TRACE({self.data})"
        return self.kind.name


def decode_action(code: int) -> Action:
    """Decode a ``code=`` value, e.g. ``decode_action(0x50001) == Action(ERRNO, 1)``.

    Unknown action bits are decoded the way the kernel treats them: as KILL_PROCESS.
    """
    kind = _BY_CODE.get(code & RET_ACTION_FULL, ActionKind.KILL_PROCESS)
    data = code & RET_DATA if kind in (ActionKind.ERRNO, ActionKind.TRACE) else 0
    return Action(kind, data)


def errno_name(number: int) -> str:
    """``1`` → ``EPERM``; numbers without a name are printed as they are."""
    return _errno.errorcode.get(number, str(number))


def errno_number(spelling: str) -> int:
    """``EPERM``, ``eperm`` or ``1`` → 1. Raises ``ValueError`` for anything else."""
    text = spelling.strip()
    if text.isdigit():
        value = int(text)
        if value > RET_DATA:
            raise ValueError(f"errno {value} does not fit in 16 bits")
        return value
    named = getattr(_errno, text.upper(), None)
    if not isinstance(named, int):
        raise ValueError(f"unknown errno name {spelling!r}")
    return named


class ActionFilter(enum.Enum):
    """Which records ``--action`` keeps."""

    ALL = "all"  # a logged denial means the workload wanted the call, too
    LOG = "log"  # only SECCOMP_RET_LOG records
    DENIED = "denied"  # only records of actions that stopped the call
