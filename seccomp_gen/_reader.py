"""Reading one record line of the everyday shape, its repeating parts once (the fast loops' reader).

``LineReader.quick`` cuts a line at its fixed separators: the parts that repeat from record to record
(framing, ``auid..subj``, ``comm..compat``, ``code``) are read once by ``FAST`` and ``build`` and kept
as a prototype (``proto``), the parts that vary (stamp, ``pid``, ``ip``) are checked against the
shapes ``FAST`` asks for. The C loop asks ``front_spans``, ``proto`` and ``json_proto`` here for each
shape and prototype it has not seen, so the Python code decides every field either way.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

from seccomp_gen._fields import PID_MAX, SYSCALL_MAX, U32, action_of, names_within_bounds
from seccomp_gen._grammar import (
    FAST,
    HEAD,
    HEX,
    KEY,
    KINDS,
    ZERO,
    ids_of,
    names_of,
    sig_arch_of,
    subject_of,
    text_of,
)
from seccomp_gen.actions import Action
from seccomp_gen.bounded import remember
from seccomp_gen.events import SeccompEvent, Transport

# The caches of one field each (names, ids, subjects ...): a process's (comm, exe) is the one with many
# values, ~300 bytes each with its key; 65,536 of them took 20 MB on a flood of forged processes.
FIELD_CACHE_MAX = 8192
PROTOS_MAX = 16384  # the pure-Python loop's prototypes: a dict of 19 fields each (~1 KB)
_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(SeccompEvent))
_new = object.__new__
_set = object.__setattr__


def _constructor() -> Callable[..., SeccompEvent]:
    """``SeccompEvent(*values)`` without the frozen dataclass's per-field ``object.__setattr__`` calls.

    The generated function fills the new instance's ``__dict__`` from one dict display: the state
    the dataclass's own ``__init__`` ends with, at a fraction of its cost. The tests check that its
    events equal the general path's, field for field.
    """
    names = [f.name for f in dataclasses.fields(SeccompEvent)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": SeccompEvent}
    source = (
        f"def make({', '.join(names)}, *, _new=_new, _cls=_cls):\n"
        "    event = _new(_cls)\n"
        f"    event.__dict__.update({{{', '.join(f'{name!r}: {name}' for name in names)}}})\n"
        "    return event\n"
    )
    exec(source, namespace)  # source built above from the dataclass's own field names
    make: Callable[..., SeccompEvent] = namespace["make"]
    return make


_make_event = _constructor()


def _as_entry(values: dict[str, object], facility: object, host: object) -> bool:
    """Make ``values``, a bare printk record's fields, those of the journal entry of the kernel transport
    whose MESSAGE it is (the framing the general path's ``journal_json`` gives); False when the record
    is not a bare ``audit: type=1326 ...`` line (the general path decides)."""
    if values["framing"] != "audit-prefix" or values["transport"] is not Transport.PRINTK:
        return False
    facts = "json,transport=kernel"
    if type(facility) is str and facility.isdigit() and len(facility) <= 3:
        facts += f",facility={facility}"
    values["transport"] = Transport.JOURNAL_KERNEL
    values["hostname"] = host if type(host) is str else None
    values["framing"] = facts + ",audit-prefix"
    return True


class LineReader:
    """Decoded-value caches and prototypes of one parser, and the format it is restricted to."""

    def __init__(self, families: frozenset[str] | None, *, journal: bool) -> None:
        self._families = families
        self._syslog = Transport.JOURNAL_KERNEL if journal else Transport.SYSLOG
        self._facts: dict[tuple[object, ...], tuple[Transport, str, bool]] = {}
        self._ids: dict[bytes, tuple[int, ...]] = {}
        self._names: dict[bytes, tuple[str, str]] = {}
        self._sig_arch: dict[bytes, tuple[int, ...]] = {}
        self._text: dict[bytes, str | None] = {}
        self._subjects: dict[bytes, str] = {}
        self._ints: dict[bytes, int] = {}
        self._actions: dict[bytes, Action] = {}
        self._fronts: dict[bytes, tuple[int, ...]] = {}
        self._frames: dict[bytes, int] = {}  # framing shape -> a number never given to another shape
        self._frame_numbers = itertools.count()
        self._protos: dict[tuple[int | bytes, ...], dict[str, object]] = {}

    def quick(self, line: bytes) -> SeccompEvent | None:
        """The event of one everyday record line (no NUL, at most MAX_LINE bytes), or None to look further.

        A line is cut at its fixed separators into the parts that differ from record to record
        (the framing's clock, the stamp, ``pid``, ``ip``) and the parts that repeat (framing,
        ``auid..subj``, ``comm..compat``, ``code``). The repeating parts are read once, by ``FAST``
        and ``build`` themselves (``proto``), and kept as a prototype event; the varying parts are
        checked against the same shapes ``FAST`` asks for. The framing is recognised by its
        *shape* (digits turned into ``0``), which keeps every offset, so the host name and PRI
        digits are taken from the line itself.
        """
        if line[:1] == b"{":
            return None  # a journal JSON entry: no framing FAST takes starts so (see journal_entry)
        front, _sep, rest = line.partition(b"): ")
        shape = front.translate(ZERO)
        spans = self._fronts.get(shape)
        if spans is None:
            spans = remember(self._fronts, shape, self.front_spans(shape), FIELD_CACHE_MAX)
        if not spans:
            return None
        (frame, level_start, level_stop, host_start, host_stop, day, kind_start, kind_stop, head_stop,
         seconds_stop, long_serial) = spans  # fmt: skip
        if (day and front[day] > 0x33) or front[kind_start:kind_stop] not in KINDS:
            return None  # RFC 3164's day is [ 0-3]?\d; the shape does not tell type=1326 from type=1300
        ids, _sep, rest = rest.partition(b" pid=")
        pid, _sep, rest = rest.partition(b" ")
        middle, _sep, rest = rest.partition(b" ip=0x")
        ip, sep, code = rest.partition(b" code=0x")
        if not sep:
            return None
        key = (frame, front[level_start:level_stop], front[host_start:host_stop], ids, middle, code)
        proto = self._protos.get(key)
        if proto is None:
            proto = remember(self._protos, key, self.proto(front[:head_stop], ids, middle, code), PROTOS_MAX)
        serial = front[seconds_stop + 1 :]
        if (
            not proto
            or not pid.isdigit()
            or len(pid) > 10
            or not 0 < len(ip) <= 16
            or ip.strip(HEX)
            or (long_serial and int(serial) > U32)
        ):
            return None
        pid_number = int(pid)
        if pid_number > PID_MAX:
            return None
        values = proto.copy()
        values["timestamp"] = float(front[head_stop + 6 : seconds_stop])
        values["serial"] = int(serial)
        values["pid"] = pid_number
        values["ip"] = int(ip, 16)
        event = _new(SeccompEvent)
        _set(event, "__dict__", values)  # what the dataclass's __init__ ends with, in one step
        return event

    def front_spans(self, shape: bytes) -> tuple[int, ...]:
        """Where the parts of a record's framing and stamp are, from their shape: (framing number, level
        or PRI start, stop, host or node start, stop, RFC 3164 day or 0, type start, stop, end of the
        framing, end of the seconds, whether the serial has 10 digits); empty when it is not a shape
        ``FAST`` takes. The framing number stands for the framing's shape in the prototype keys.
        """
        match = HEAD.fullmatch(shape)
        if match is None:
            return ()
        level = 1 if match.group(1) is not None else 2
        host = 4 if match.group(4) is not None else 6
        kind = 5 if match.group(5) is not None else 7
        day = match.start(3) if match.group(3) is not None else 0
        frame = self._frames.get(shape[: match.start(8)])
        if frame is None:
            frame = remember(
                self._frames, shape[: match.start(8)], next(self._frame_numbers), FIELD_CACHE_MAX
            )
        spans = (
            *match.span(level),
            *match.span(host),
            day,
            *match.span(kind),
            match.start(8),
            match.start(9),
        )
        return (frame, *spans, len(match.group(10)) == 10)

    def proto(self, head: bytes, ids: bytes, middle: bytes, code: bytes) -> dict[str, object]:
        """The fields a record line with these repeating parts has, from ``FAST`` and ``build`` on a
        line made of them and sample varying parts; empty when that line does not take the fast shape
        exactly as ``quick`` cut it.
        """
        line = b"%baudit(1.000:1): %b pid=1 %b ip=0x0 code=0x%b" % (head, ids, middle, code)
        match = FAST.match(line)
        if match is None:
            return {}
        pid_at = len(head) + len(b"audit(1.000:1): ") + len(ids) + len(b" pid=")
        ip_at = pid_at + len(b"1 ") + len(middle) + len(b" ip=0x")
        if (match.start(9), match.start(13), match.start(18), match.group(13), match.group(18)) != (
            len(head) + len(b"audit("),
            pid_at,
            ip_at,
            b"1",
            b"0",
        ):
            return {}
        event = self.build(match)
        if event is None:
            return {}
        return {name: getattr(event, name) for name in _FIELD_NAMES}

    def journal_entry(self, line: bytes) -> SeccompEvent | None:
        """A ``journalctl -o json`` entry of the kernel transport whose MESSAGE is a bare everyday record
        (``audit: type=1326 audit(...): ...``): ``json.loads``, then the message read as ``quick``
        reads a printk line, and the framing the general path gives such an entry (``_framing``'s
        ``journal_json``); None for every other entry (the general path decides).
        """
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if type(entry) is not dict or entry.get("_TRANSPORT") != "kernel" or "_AUDIT_TYPE" in entry:
            return None
        message = entry.get("MESSAGE")
        if type(message) is not str or not message.startswith("audit: type=1326 "):
            return None
        try:
            event = self.quick(message.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape
            return None
        if event is None or not _as_entry(
            event.__dict__, entry.get("SYSLOG_FACILITY"), entry.get("_HOSTNAME")
        ):
            return None
        return event

    @staticmethod
    def json_proto(proto: dict[str, object], facility: str | None, host: str | None) -> dict[str, object]:
        """The C loop's ``journal_entry``: the prototype of an entry whose MESSAGE has prototype
        ``proto`` (the C loop read the entry), or empty when ``journal_entry`` would not take it."""
        values = dict(proto)
        return values if values and _as_entry(values, facility, host) else {}

    def build(self, m: re.Match[bytes]) -> SeccompEvent | None:
        """The event of a fast match, or None to let the general path decide (a rare shape)."""
        (kmsg, pri, rfc3339, host, uptime, caller, node, auditd, seconds, serial, ids_raw, subj, pid_raw,
         names_raw, sig_arch_raw, syscall_raw, compat_raw, ip, code, tail) = m.groups()  # fmt: skip
        key = (kmsg, pri, rfc3339, host is None, uptime, caller, node is None, auditd)
        framing = self._facts.get(key)
        if framing is None:
            framing = self._facts[key] = self._facts_of(key)
        if not framing[2] or (tail and tail[0] != 0x1D and KEY.search(tail)):
            return None
        subject = None
        if subj is not None:
            subject = self._subjects.get(subj)
            if subject is None:
                subject = remember(self._subjects, subj, subject_of(subj), FIELD_CACHE_MAX)
            if not subject:
                return None
        ids = self._ids.get(ids_raw)
        if ids is None:
            ids = remember(self._ids, ids_raw, ids_of(ids_raw), FIELD_CACHE_MAX)
        sig_arch = self._sig_arch.get(sig_arch_raw)
        if sig_arch is None:
            sig_arch = remember(self._sig_arch, sig_arch_raw, sig_arch_of(sig_arch_raw), FIELD_CACHE_MAX)
        pid, syscall = int(pid_raw), int(syscall_raw)
        if not ids or not sig_arch or pid > PID_MAX or syscall > SYSCALL_MAX:
            return None
        if len(serial) == 10 and int(serial) > U32:
            return None
        compat = self._ints.get(compat_raw)
        if compat is None:
            compat = remember(self._ints, compat_raw, int(compat_raw), FIELD_CACHE_MAX)
        if compat > U32:
            return None
        action = self._actions.get(code)
        if action is None:
            action = remember(self._actions, code, action_of(int(code, 16)), FIELD_CACHE_MAX)
        names = self._names.get(names_raw)
        if names is None:
            names = remember(self._names, names_raw, names_of(names_raw), FIELD_CACHE_MAX)
        if not names_within_bounds(*names):
            return None
        facts = framing[1] if not tail else framing[1] + ("," if framing[1] else "") + "enriched"
        return _make_event(
            syscall,
            sig_arch[1],
            action,
            float(seconds),
            int(serial),
            compat,
            *ids,
            subject,
            pid,
            *names,
            sig_arch[0],
            int(ip, 16),
            framing[0],
            self._decode(host if host is not None else node),
            facts,
        )

    def _facts_of(self, key: tuple[object, ...]) -> tuple[Transport, str, bool]:
        """(transport, facts, allowed by the forced format) of one combination of framing groups."""
        from seccomp_gen._framing import FAMILY_AUDITD, FAMILY_HEADER, FAMILY_KMSG, FAMILY_PRINTK

        kmsg, pri, rfc3339_raw, no_host, uptime_raw, caller_raw, no_node, auditd_raw = key
        rfc3339, header, uptime, caller = (
            rfc3339_raw is not None,
            not no_host,
            uptime_raw is not None,
            caller_raw is not None,
        )
        node, auditd = not no_node, auditd_raw is not None
        facts: list[str] = []
        if auditd:
            family, transport = FAMILY_AUDITD, Transport.AUDITD
            facts += ["node"] if node else []
        else:
            if kmsg is not None:
                family, transport = FAMILY_KMSG, Transport.KMSG
                facts += ["kmsg", f"kmsg-prio={text_of(kmsg)}"]
            elif header:
                family, transport = FAMILY_HEADER, self._syslog
                facts += [f"pri={text_of(pri)}"] if pri is not None else []
                facts += ["rfc3339" if rfc3339 else "rfc3164", "tag=kernel"]
            else:
                family, transport = FAMILY_PRINTK, Transport.PRINTK
                facts += [f"pri={text_of(pri)}"] if pri is not None else []
            facts += (["uptime"] if uptime else []) + (["caller"] if caller else []) + ["audit-prefix"]
        return transport, ",".join(facts), self._families is None or family in self._families

    def _decode(self, raw: bytes | None) -> str | None:
        """A host name, decoded once."""
        if raw is None:
            return None
        text = self._text.get(raw)
        if text is None:
            text = remember(self._text, raw, raw.decode("utf-8", "replace"), FIELD_CACHE_MAX)
        return text


__all__ = ["FIELD_CACHE_MAX", "PROTOS_MAX", "LineReader"]
