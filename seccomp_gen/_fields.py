"""The field list of one seccomp record, after its framing and its ``audit(TS:SERIAL):`` stamp.

The kernel prints the fields in a fixed order (``audit_log_task`` then ``audit_seccomp``)::

    auid= uid= gid= ses= [subj=] pid= comm= [exe=] [reason=] sig= [arch=] syscall= compat= ip= code=

so a field's value runs up to the next known key in that order. That is what lets ``subj`` hold
spaces and commas (``subj==cri-containerd.apparmor.d (enforce)``) and ``ausearch -i`` print a
decoded ``comm`` with spaces, without a quoting rule. Values are then checked against the shape the
kernel prints (decimal, ``%x``, quoted printable ASCII or upper-case hex); anything else is
rejected with a reason, never guessed at.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from seccomp_gen.actions import Action, ActionKind, decode_action
from seccomp_gen.bounded import remember
from seccomp_gen.parse_stats import SkipReason

KEYS = (
    "auid",
    "uid",
    "gid",
    "ses",
    "subj",
    "pid",
    "comm",
    "exe",
    "reason",
    "sig",
    "arch",
    "syscall",
    "compat",
    "ip",
    "code",
)
_ORDER = {key: index for index, key in enumerate(KEYS)}
REQUIRED = frozenset({"auid", "uid", "gid", "ses", "pid", "comm", "sig", "syscall", "code"})
_KEY_RE = re.compile(r"(?:^| )(" + "|".join(KEYS) + r")=")

U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF
I64 = 0x7FFFFFFFFFFFFFFF  # SQLite's integers stop here: a larger count from a line is out of range
# No ABI numbers a syscall beyond 31 bits (x32's bit 0x40000000 and mips' 6000 offset included); the
# kernel prints a long, and a larger value is a forged or broken line, never a call.
SYSCALL_MAX = 0x7FFFFFFF
# The kernel's own bounds on what it logs: comm is TASK_COMM_LEN (16) bytes today; 64 leaves room for
# kernels that lengthen it. exe is a path: PATH_MAX. A longer value is a forged line, counted as
# malformed, never stored (8 KB names from 1 M forged lines made a state twice the log's size).
COMM_MAX = 64
EXE_MAX = 4096
PID_MAX = 0x7FFFFFFF
UNSET = U32  # auid/ses "unset" is (u32)-1

_DECIMAL = re.compile(r"[0-9]{1,20}")
_HEX32 = re.compile(r"[0-9a-f]{1,8}")
_IP = re.compile(r"0x([0-9a-f]{1,16})")
# code=0x%x, then nothing, or auditd's enrichment glued straight on (upper-case KEY=...).
_CODE = re.compile(r"0x([0-9a-f]{1,8})(?:[A-Z][A-Z0-9_]*=.*)?")
_QUOTED = re.compile(r'"([!#-~]*)"')  # audit_log_untrustedstring quotes only printable ASCII
_HEXSTR = re.compile(r"(?:[0-9A-Fa-f]{2})+")

# ausearch -i prints action names: auparse 3.0.9's seccomptab, looked up with code & 0x7fff0000, so
# the data is dropped and KILL_PROCESS (0x80000000) prints as `kill`, like KILL_THREAD (0x0): `kill`
# is read as the value it names, KILL_THREAD (tests/data/records/ausearch-i.log shows both).
_INTERPRETED_ACTIONS = {
    "kill": ActionKind.KILL_THREAD,
    "kill-process": ActionKind.KILL_PROCESS,
    "kill-thread": ActionKind.KILL_THREAD,  # auparse since 3.0.2 (older ones print "kill")
    "user-notif": ActionKind.USER_NOTIF,
    "trap": ActionKind.TRAP,
    "errno": ActionKind.ERRNO,
    "user-notify": ActionKind.USER_NOTIF,
    "trace": ActionKind.TRACE,
    "log": ActionKind.LOG,
    "allow": ActionKind.ALLOW,
}
_INTERPRETED_USERS = {"unset": UNSET, "root": 0}
# auparse prints a number it has no name for as `unknown(N)` (ids) or `unknown-syscall(N)`.
_INTERPRETED_NUMBER = re.compile(r"unknown(?:-syscall)?\(([0-9]{1,20})\)")


class SkipLine(Exception):  # noqa: N818 - a control-flow signal carrying the reason, not an error
    """Raised inside the parser to reject a line; ``reason`` is the ``ParseStats.skipped`` key."""

    def __init__(self, reason: SkipReason) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Fields:
    """The checked values of one record's field list (``arch``/``syscall`` are raw, or names for -i)."""

    auid: int | None
    uid: int | None
    gid: int | None
    ses: int | None
    subj: str | None
    pid: int
    comm: str
    exe: str | None
    sig: int
    arch: int | None
    arch_name: str | None  # ausearch -i: the ABI name instead of the number
    syscall: int | None
    syscall_name: str | None  # ausearch -i: the name instead of the number
    compat: int | None
    ip: int | None
    action: Action
    enriched: bool


def split_fields(text: str) -> dict[str, str]:
    """``auid=0 uid=0 ... code=0x0`` → ``{"auid": "0", ...}``, checking the kernel's key order."""
    body, _sep, _enrichment = text.partition("\x1d")
    marks = list(_KEY_RE.finditer(body))
    if not marks or marks[0].start() != 0:
        raise SkipLine(SkipReason.MALFORMED_FIELDS)
    values: dict[str, str] = {}
    last = -1
    for index, mark in enumerate(marks):
        key = mark.group(1)
        if _ORDER[key] <= last:
            raise SkipLine(SkipReason.MALFORMED_FIELDS)
        last = _ORDER[key]
        end = marks[index + 1].start() if index + 1 < len(marks) else len(body)
        values[key] = body[mark.end() : end]
    missing = REQUIRED - values.keys()
    if missing:
        raise SkipLine(SkipReason.TRUNCATED if "code" in missing else SkipReason.MISSING_FIELD)
    return values


def parse_fields(text: str, *, interpreted: bool = False) -> Fields:
    """Check and convert a record's field list; raises ``SkipLine`` with the reason."""
    values = split_fields(text)
    reason = values.get("reason")
    if reason is not None and reason not in ('"seccomp"', "seccomp"):
        raise SkipLine(SkipReason.OTHER_AUDIT_TYPE)
    if interpreted:
        return _interpreted(values)
    arch = values.get("arch")
    code = _CODE.fullmatch(values["code"])
    if code is None:
        raise SkipLine(SkipReason.MALFORMED_FIELDS)
    return Fields(
        auid=u32(values["auid"]),
        uid=u32(values["uid"]),
        gid=u32(values["gid"]),
        ses=u32(values["ses"]),
        subj=subj_value(values.get("subj")),
        pid=_pid(values["pid"]),
        comm=_bounded_string(untrusted_string(values["comm"]), COMM_MAX),
        exe=_exe(values.get("exe")),
        sig=_bounded(values["sig"], U32),
        arch=None if arch is None else _hex32(arch),
        arch_name=None,
        syscall=_bounded(values["syscall"], SYSCALL_MAX),
        syscall_name=None,
        compat=_optional(values.get("compat"), U32),
        ip=_ip(values.get("ip")),
        action=action_of(int(code.group(1), 16)),
        enriched="\x1d" in text or code.end(1) != len(values["code"]),
    )


def _interpreted(values: dict[str, str]) -> Fields:
    """``ausearch -i`` values: names for arch, syscall, sig, users and the action (``unknown(N)`` for a
    number without a name). ausearch ends each record with a space: it is dropped.
    """
    values["code"] = values["code"].removesuffix(" ")
    syscall = _interpreted_number(values["syscall"])
    arch = values.get("arch")
    return Fields(
        auid=_user(values["auid"]),
        uid=_user(values["uid"]),
        gid=_user(values["gid"]),
        ses=_user(values["ses"]),
        subj=subj_value(values.get("subj")),
        pid=_pid(values["pid"]),
        comm=_bounded_string(_interpreted_string(values["comm"]), COMM_MAX),
        exe=_bounded_string(_interpreted_string(values["exe"]), EXE_MAX) if "exe" in values else None,
        sig=_signal(values["sig"]),
        arch=_hex32(arch) if arch is not None and _HEX32.fullmatch(arch) else None,
        arch_name=arch if arch is not None and not _HEX32.fullmatch(arch) else None,
        syscall=_bounded(syscall, SYSCALL_MAX) if syscall.isdigit() else None,
        syscall_name=None if syscall.isdigit() else _name(syscall),
        compat=_optional(values.get("compat"), U32),
        ip=_ip(values.get("ip")),
        action=_interpreted_action(values["code"]),
        enriched=False,
    )


def u32(text: str) -> int:
    """A ``%u`` field (auid, uid, gid, ses)."""
    return _bounded(text, U32)


def _bounded(text: str, limit: int) -> int:
    if not _DECIMAL.fullmatch(text):
        raise SkipLine(SkipReason.NEGATIVE_NUMBER if text.startswith("-") else SkipReason.MALFORMED_NUMBER)
    value = int(text)
    if value > limit:
        raise SkipLine(SkipReason.NUMBER_OUT_OF_RANGE)
    return value


def _optional(text: str | None, limit: int) -> int | None:
    return None if text is None else _bounded(text, limit)


def _pid(text: str) -> int:
    return _bounded(text, PID_MAX)


def _hex32(text: str) -> int:
    if not _HEX32.fullmatch(text):
        raise SkipLine(SkipReason.MALFORMED_NUMBER)
    return int(text, 16)


def _ip(text: str | None) -> int | None:
    if text is None:
        return None
    match = _IP.fullmatch(text)
    if match is None:
        raise SkipLine(SkipReason.MALFORMED_NUMBER)
    return int(match.group(1), 16)


def _name(text: str) -> str:
    if not text or not text.replace("_", "").isalnum():
        raise SkipLine(SkipReason.MALFORMED_FIELDS)
    return text


def subj_value(text: str | None) -> str | None:
    """``subj=`` as printed, except that ``subj==label`` (AppArmor on some kernels) drops the ``=``."""
    if text is None:
        return None
    if not text or "\n" in text:
        raise SkipLine(SkipReason.MALFORMED_FIELDS)
    return text[1:] if text.startswith("=") and len(text) > 1 else text


def untrusted_string(text: str) -> str:
    """``"sh"`` → ``sh``; ``72756E6320322E31`` (hex, the kernel's form for spaces/non-ASCII) decoded.

    Non-UTF-8 bytes become ``\\xNN`` escapes, so the result is always printable and storable.
    """
    quoted = _QUOTED.fullmatch(text)
    if quoted is not None:
        return quoted.group(1)
    if _HEXSTR.fullmatch(text):
        return bytes.fromhex(text).decode("utf-8", "backslashreplace")
    raise SkipLine(SkipReason.MALFORMED_STRING)


def _exe(text: str | None) -> str | None:
    if text is None:
        return None
    if text == "(null)":
        return text
    return _bounded_string(untrusted_string(text), EXE_MAX)


def _bounded_string(text: str, limit: int) -> str:
    """``text`` when it is no longer than the kernel ever logs (in characters, escapes as written)."""
    if len(text) > limit:
        raise SkipLine(SkipReason.STRING_TOO_LONG)
    return text


def names_within_bounds(comm: str, exe: str) -> bool:
    """The fast path's test of the same bounds (it hands a line outside them to the general path)."""
    return len(comm) <= COMM_MAX and len(exe) <= EXE_MAX


def _interpreted_string(text: str) -> str:
    """ausearch -i prints comm/exe decoded and unquoted (so never as hex)."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not text:
        raise SkipLine(SkipReason.MALFORMED_STRING)
    return text


def _user(text: str) -> int | None:
    """ausearch -i prints user/group names (of the machine it ran on); only the ones with a fixed number
    and ``unknown(N)`` map back.
    """
    text = _interpreted_number(text)
    if text.isdigit():
        return u32(text)
    return _INTERPRETED_USERS.get(text)


def _interpreted_number(text: str) -> str:
    """``unknown(20003)`` → ``20003``; anything else as it is."""
    number = _INTERPRETED_NUMBER.fullmatch(text)
    return text if number is None else number.group(1)


def _signal(text: str) -> int:
    if text.isdigit():
        return _bounded(text, U32)
    if text == "SIG0":
        return 0
    number = getattr(signal, text, None)
    if not isinstance(number, int) or not text.startswith("SIG"):
        raise SkipLine(SkipReason.MALFORMED_FIELDS)
    return int(number)


def _interpreted_action(text: str) -> Action:
    code = _CODE.fullmatch(text)
    if code is not None:
        return action_of(int(code.group(1), 16))
    kind = _INTERPRETED_ACTIONS.get(text)
    if kind is None:
        raise SkipLine(SkipReason.MALFORMED_FIELDS)
    return Action(kind)


_ACTIONS: dict[int, Action] = {}
_CACHE_MAX = 4096  # a forged log must not grow a cache without bound


def action_of(code: int) -> Action:
    """``decode_action`` with a cache: a log holds few distinct codes."""
    action = _ACTIONS.get(code)
    return action if action is not None else remember(_ACTIONS, code, decode_action(code), _CACHE_MAX)
