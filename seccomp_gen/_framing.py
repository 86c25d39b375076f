"""What wraps a record on each transport: find the framing of one line, say what it was.

A line is split into its framing (syslog header, kmsg prefix, uptime stamp, journald JSON, auditd
``node=``) and its message. The framing decides ``Transport`` and ``hostname``, and leaves a list of
*facts* (``rfc3339``, ``tag=kernel``, ``uptime``, ``caller``, ``kmsg-prio=5`` ...) that a later stage
can use to judge a line: real kernel lines carry details a forger has to think of.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass

from seccomp_gen._fields import SkipLine
from seccomp_gen.events import Transport
from seccomp_gen.parse_stats import SkipReason

_KMSG = re.compile(r"(\d{1,4}),(\d{1,20}),(\d{1,20}),[^;]{0,16};")
_PRI = re.compile(r"<(\d{1,3})>")
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) +([^\s:]+) +")
# The month as journald and syslog daemons print it: the locale's abbreviation (%b), so not only
# "Jun" but "jun", "Mär", "déc.", "окт", "10月". The year is never there: the time comes from audit(...).
_MONTH = r"(?:[^\W\d_]{2,5}\.?|\d{1,2}月)"
_RFC3164 = re.compile(rf"({_MONTH} [ 0-3]?\d \d\d:\d\d:\d\d) +([^\s:]+) +")
_RFC3164_STAMP = re.compile(rf"{_MONTH} [ 0-3]?\d \d\d:\d\d:\d\d +")  # journald on a host without a name
_RFC3339_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)? +")
_DMESG_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d+[+-]\d\d:?\d\d ")
_TAG = re.compile(r"([^\s:\[\]]+)(?:\[(\d{1,10})\])?: ?")
_UPTIME = re.compile(r"\[ *(\d{1,10}\.\d{1,9})\] ?")
_CALLER = re.compile(r"\[ *[TC]\d{1,10}\] ?")
_DMESG_T = re.compile(r"\[[^\[\]]{0,64}\d\d:\d\d:\d\d[^\[\]]{0,64}\] ?")
_NODE = re.compile(r"node=(\S+) ")
_HOST = re.compile(r"([^\s:\[\]]+) +")
# journalctl's other -o short* stamps (systemd 252), before `host tag: `: (fact, pattern). Only
# journalctl writes them. short-full (and with-unit) ends with the zone's abbreviation.
_JOURNAL_STAMPS = (
    ("short-precise", re.compile(rf"{_MONTH} [ 0-3]?\d \d\d:\d\d:\d\d\.\d{{6}} +")),
    ("short-full", re.compile(r"[^\W\d_]{2,5}\.? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([A-Za-z0-9+-]{1,10}) +")),
    ("short-unix", re.compile(r"(\d{1,12}\.\d{6}) +")),
    ("short-delta", re.compile(r"\[ *\d{1,10}\.\d{6} <[ \d.]{1,24}>\] +")),
)


@dataclass(frozen=True, slots=True)
class Framing:
    """One line with its framing taken off."""

    transport: Transport
    body: str  # the message: where the record or loss marker is looked for
    hostname: str | None = None
    facts: tuple[str, ...] = ()
    time: float | None = None  # wall-clock time the framing states, when it states one in full
    stamp: tuple[float, int] | None = None  # journald audit transport: audit(TS:SERIAL) from its fields
    audit_type: str | None = None  # journald's _AUDIT_TYPE, when given


# The framings each forced format accepts (AUTO accepts all).
FAMILY_KMSG = "kmsg"
FAMILY_PRINTK = "printk"
FAMILY_HEADER = "header"  # `stamp host tag: ...`: syslog files and journalctl -o short*
FAMILY_JSON = "json"
FAMILY_AUDITD = "auditd"


def split_framing(line: str, family_filter: frozenset[str] | None, journal: bool) -> Framing:
    """Take the framing off ``line``; ``journal`` says header lines come from ``journalctl -o short``."""
    if line.startswith("{"):
        _allow(FAMILY_JSON, family_filter)
        return journal_json(line)
    kmsg = _KMSG.match(line)
    if kmsg is not None:
        _allow(FAMILY_KMSG, family_filter)
        return _printk(line[kmsg.end() :], Transport.KMSG, ("kmsg", f"kmsg-prio={kmsg.group(1)}"))
    facts: tuple[str, ...] = ()
    if line.startswith("`") and line.rstrip().endswith("`") and len(line.strip()) > 2:
        # a record pasted as Markdown code: the backticks are not the record's
        line, facts = line.strip()[1:-1], ("pasted",)
    pri = _PRI.match(line)
    rest = line
    if pri is not None:
        facts, rest = (f"pri={pri.group(1)}",), line[pri.end() :]
    header = _header(rest, facts, journal)
    if header is not None:
        _allow(FAMILY_HEADER, family_filter)
        return header
    if rest.startswith(("type=", "node=")):
        _allow(FAMILY_AUDITD, family_filter)
        return _auditd(rest)
    if rest.startswith("SECCOMP auid="):
        # journalctl -o cat of the audit transport: the message alone, without stamp or tag
        _allow(FAMILY_HEADER, family_filter)
        return Framing(Transport.JOURNAL_AUDIT, rest, None, (*facts, "bare-body"))
    if rest.startswith(("----", "time->")):
        raise SkipLine(SkipReason.AUSEARCH_LAYOUT)
    _allow(FAMILY_PRINTK, family_filter)
    dmesg_t = _DMESG_T.match(rest) or _DMESG_ISO.match(rest)
    if dmesg_t is not None and _UPTIME.match(rest) is None:
        return _printk(rest[dmesg_t.end() :], Transport.PRINTK, (*facts, "dmesg-time"))
    return _printk(rest, Transport.PRINTK, facts)


def _allow(family: str, family_filter: frozenset[str] | None) -> None:
    if family_filter is not None and family not in family_filter:
        raise SkipLine(SkipReason.WRONG_FORMAT)


def _printk(text: str, transport: Transport, facts: tuple[str, ...], host: str | None = None) -> Framing:
    """``[uptime][caller] message`` as the kernel's printk writes it."""
    uptime = _UPTIME.match(text)
    if uptime is not None:
        text, facts = text[uptime.end() :], (*facts, "uptime")
    caller = _CALLER.match(text)
    if caller is not None:
        text, facts = text[caller.end() :], (*facts, "caller")
    return Framing(transport, text, host, facts)


def _header(text: str, facts: tuple[str, ...], journal: bool) -> Framing | None:
    """``<stamp> <host> <tag>[pid]: message``: RFC 3339/3164 syslog, journalctl -o short*."""
    time: float | None = None
    header = _RFC3339.match(text)
    if header is not None:
        facts, time = (*facts, "rfc3339"), _rfc3339_time(header.group(1))
    else:
        header = _RFC3164.match(text)
        if header is None:
            return _hostless_header(text, facts, journal) or _monotonic_header(text, facts, journal)
        facts = (*facts, "rfc3164")
    tag = _TAG.match(text, header.end())
    if tag is None:
        return None
    return _tagged(text[tag.end() :], header.group(2), tag, facts, journal=journal, time=time)


def _hostless_header(text: str, facts: tuple[str, ...], journal: bool) -> Framing | None:
    """``Mar 02 11:20:01 audit[801]: ...``, ``Oct 30 22:41:09 kernel: ...``: a stamp and a tag, no host
    (journalctl on a host without a name, or a copy with it taken out). The tag must be ``kernel`` or
    carry a pid, so that an ordinary word after a stamp is not taken for one."""
    stamp = _RFC3339_STAMP.match(text)
    time = None
    if stamp is not None:
        time = _rfc3339_time(stamp.group(0).strip())
        fact = "rfc3339"
    else:
        stamp = _RFC3164_STAMP.match(text)
        fact = "rfc3164"
    if stamp is None:
        return None
    tag = _TAG.match(text, stamp.end())
    if tag is None or not (tag.group(1) == "kernel" or tag.group(2)):
        return None
    framing = _tagged(text[tag.end() :], "", tag, (*facts, fact, "no-host"), journal=journal, time=time)
    return Framing(framing.transport, framing.body, None, framing.facts, framing.time)


def _monotonic_header(text: str, facts: tuple[str, ...], journal: bool) -> Framing | None:
    """``journalctl -o short-monotonic``: ``[  270.853767] host kernel: ...``; and the other stamps only
    journalctl writes (``_JOURNAL_STAMPS``): ``-o short-precise``, ``short-full``, ``short-unix``,
    ``short-delta``. The tag must be ``kernel`` or carry a pid (``audit[PID]``).
    """
    del journal  # these stamps are journalctl's own, whatever the caller says
    stamp = _UPTIME.match(text)
    fact, time = "monotonic", None
    if stamp is None:
        for fact, pattern in _JOURNAL_STAMPS:
            stamp = pattern.match(text)
            if stamp is not None:
                time = _journal_time(fact, stamp)
                break
        else:
            return None
    host = _HOST.match(text, stamp.end())
    if host is None:
        return None
    tag = _TAG.match(text, host.end())
    if tag is None or not (tag.group(1) == "kernel" or tag.group(2)):
        return None
    return _tagged(text[tag.end() :], host.group(1), tag, (*facts, fact), journal=True, time=time)


def _journal_time(fact: str, stamp: re.Match[str]) -> float | None:
    """Epoch seconds of a short-unix stamp, or of a short-full one in UTC (other zones' abbreviations
    are not ours to map); None for the stamps without a date or a zone.
    """
    if fact == "short-unix":
        return float(stamp.group(1))
    if fact == "short-full" and stamp.group(2) == "UTC":
        return _rfc3339_time(stamp.group(1).replace(" ", "T") + "+00:00")
    return None


def _tagged(
    body: str, host: str, tag: re.Match[str], facts: tuple[str, ...], *, journal: bool, time: float | None
) -> Framing:
    name, pid = tag.group(1), tag.group(2)
    facts = (*facts, f"tag={name}" + ("[pid]" if pid else ""))
    if name == "kernel" and not pid:
        transport = Transport.JOURNAL_KERNEL if journal else Transport.SYSLOG
        framing = _printk(body, transport, facts, host)
        return Framing(framing.transport, framing.body, host, framing.facts, time)
    if name == "audit" and pid:
        return Framing(Transport.JOURNAL_AUDIT, body, host, facts, time)
    transport = Transport.JOURNAL_OTHER if journal else Transport.SYSLOG
    return Framing(transport, body, host, facts, time)


def _auditd(text: str) -> Framing:
    """auditd's log: ``[node=HOST ]type=SECCOMP msg=audit(...): ...``."""
    node = _NODE.match(text)
    if node is not None:
        return Framing(Transport.AUDITD, text[node.end() :], node.group(1), ("node",))
    return Framing(Transport.AUDITD, text)


def _rfc3339_time(text: str) -> float | None:
    """RFC 3339 stamp → epoch seconds (None without a zone: local time is not ours to guess)."""
    text = text.replace("Z", "+00:00")
    if text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    whole, dot, rest = text.partition(".")
    if dot:  # Python 3.10 takes exactly 3 or 6 fractional digits
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        text = f"{whole}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    try:
        stamp = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return None if stamp.tzinfo is None else stamp.timestamp()


_JOURNAL_TRANSPORTS = {"kernel": Transport.JOURNAL_KERNEL, "audit": Transport.JOURNAL_AUDIT}


def journal_json(line: str) -> Framing:
    """One ``journalctl -o json`` entry: MESSAGE plus the fields that say where it came from."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        raise SkipLine(SkipReason.MALFORMED_JSON) from None
    if not isinstance(entry, dict):
        raise SkipLine(SkipReason.MALFORMED_JSON)
    name = entry.get("_TRANSPORT")
    message = _json_text(entry.get("MESSAGE"))
    if message is None:
        if "MESSAGE" in entry and entry["MESSAGE"] is None:
            _nulled(entry)
            message = ""  # another message journalctl did not show: nothing of ours
        else:
            raise SkipLine(SkipReason.MALFORMED_JSON)
    transport = _JOURNAL_TRANSPORTS.get(name, Transport.JOURNAL_OTHER) if isinstance(name, str) else None
    host = entry.get("_HOSTNAME")
    audit_type = entry.get("_AUDIT_TYPE")
    facts: tuple[str, ...] = ("json", f"transport={name}" if isinstance(name, str) else "transport=?")
    facility = entry.get("SYSLOG_FACILITY")  # journald's kernel transport: the kmsg record's facility
    if isinstance(facility, str) and facility.isdigit() and len(facility) <= 3:
        facts = (*facts, f"facility={facility}")
    return Framing(
        transport or Transport.JOURNAL_OTHER,
        message,
        host if isinstance(host, str) else None,
        facts,
        _usec(entry.get("__REALTIME_TIMESTAMP")),
        _audit_stamp(entry) if transport is Transport.JOURNAL_AUDIT else None,
        audit_type if isinstance(audit_type, str) else None,
    )


def _nulled(entry: dict[str, object]) -> None:
    """A MESSAGE ``journalctl -o json`` showed as null (over 4096 bytes, no ``--all``): a seccomp record
    of journald's audit transport is skipped and counted, not rebuilt from journald's copies of its
    fields (``_AUDIT_FIELD_*``, ``_SELINUX_CONTEXT`` ...: journald cuts a value at a space, so a
    ``subj`` such as ``lbl (enforce)`` would be read wrong).
    """
    kind = entry.get("_AUDIT_TYPE")
    reason = entry.get("_AUDIT_FIELD_REASON")
    if entry.get("_TRANSPORT") == "audit" and (
        kind == "1326" or (kind == "1701" and reason in _SECCOMP_REASONS)
    ):
        raise SkipLine(SkipReason.MESSAGE_NOT_SHOWN)


_SECCOMP_REASONS = ("seccomp", '"seccomp"')


def _json_text(value: object) -> str | None:
    """journald writes MESSAGE as a string, or as an array of bytes when it is not UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return None


def _usec(value: object) -> float | None:
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        return int(value) / 1_000_000
    return None


def _audit_stamp(entry: dict[str, object]) -> tuple[float, int] | None:
    """journald's audit transport stores audit(SEC.MSEC:SERIAL) as _SOURCE_REALTIME_TIMESTAMP + _AUDIT_ID."""
    usec, serial = entry.get("_SOURCE_REALTIME_TIMESTAMP"), entry.get("_AUDIT_ID")
    if not (isinstance(usec, str) and usec.isdigit() and isinstance(serial, str) and serial.isdigit()):
        return None
    if len(usec) > 20 or int(serial) > 0xFFFFFFFF:
        return None
    msec = int(usec) // 1000
    return (round(msec / 1000, 3), int(serial))
