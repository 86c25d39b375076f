"""Text to ``SeccompEvent``/``LossEvent``, and nothing else: pure, no I/O.

One ``RecordParser`` reads lines of any supported framing, detected per line (``Format.AUTO``) or
forced: /dev/kmsg records, dmesg and bare printk lines (uptime, caller id, ``<PRI>``, ``dmesg -T``),
syslog files (RFC 3164 and RFC 3339 headers), ``journalctl -o short*`` and ``-o json``, auditd's log
(raw, enriched after 0x1D or glued to ``code=``, ``ausearch`` and ``ausearch -i``).

Decisions worth knowing:

- **Nothing is guessed.** A line that looks like a record but breaks the kernel's shape (a field
  missing or out of order, a number out of range or negative, a quoted value with a space, an odd
  number of hex digits, a NUL byte, a truncated tail) is skipped and counted in
  ``ParseStats.skipped`` under its reason. Lines with nothing of interest count as ``noise``.
- **Legacy ``type=1701`` (ANOM_ABEND) ``reason="seccomp"``** records, which kernels before the
  SECCOMP record type wrote for seccomp kills, are accepted as seccomp events: they carry the same
  task fields, ``sig``, ``syscall``, ``compat``, ``ip`` and ``code``. They have no ``arch=`` (so no
  ABI), and any other ``reason`` is skipped as ``other-audit-type``.
- ``subj==label`` (AppArmor printed with an extra ``=`` by some kernels) is stored as ``label``.
- ``comm``/``exe`` in hex are decoded; bytes that are not UTF-8 become ``\\xNN`` escapes.
- ``ausearch -i`` output carries names: ``arch=x86_64 syscall=openat`` are mapped back to numbers
  through ``seccomp_gen.abi``/``seccomp_gen.syscalls`` (a name no table knows is skipped as
  ``unknown-syscall-name``); its local-time date is not converted (``timestamp`` None, ``serial``
  kept), ``unknown(N)``/``unknown-syscall(N)`` are read as N, user names other than
  ``root``/``unset`` become None (they are the names of the machine ausearch ran on), and its action
  names carry no data: ``errno`` decodes as ``ERRNO(0)``, and ``kill``, which auparse prints for
  both KILL_THREAD and KILL_PROCESS, as ``KILL_THREAD``. Such events have the fact ``interpreted``.
- ``journalctl -o short`` and ``short-iso*`` kernel lines look exactly like syslog lines:
  ``Format.AUTO`` calls them SYSLOG; ``Format.JOURNAL`` calls them JOURNAL_KERNEL. The stamps only
  journalctl writes (``short-monotonic``, ``-precise``, ``-full``, ``-unix``, ``-delta``) are
  JOURNAL_KERNEL either way. ``audit[PID]: SECCOMP ...`` is always JOURNAL_AUDIT (only journald
  writes it). In ``-o json`` the ``_TRANSPORT`` field decides, and the audit transport's
  ``_SOURCE_REALTIME_TIMESTAMP``/``_AUDIT_ID`` give the stamp; the record itself is read from
  MESSAGE, which holds every field (journald's ``_AUDIT_FIELD_*``, ``_COMM``, ``_EXE`` ... are
  copies of some of them, cut at spaces). A seccomp record whose MESSAGE journalctl showed as null
  (over 4096 bytes, without ``--all``) is skipped as ``message-not-shown``, not rebuilt from them.
- ``audit_lost=N`` is the kernel's running total, reported as is.
- A line is looked at only if it holds ``audit`` (every record, auditd line, kauditd and audit_lost
  marker, journald audit or kernel entry), journald's ``Suppressed N``/``Missed N``, or a MESSAGE
  journald wrote as an array of bytes; anything else is noise without further work.
- In auditd's log (``type=...`` lines) a line is one record: its first ``type=`` decides.
- Every event's ``framing`` lists what framed it (``rfc3339,tag=kernel,uptime,audit-prefix``):
  facts, not verdicts, for whoever judges whether a syslog line really came from the kernel
  (``seccomp_gen.trust``). ``auditd-form`` marks a record outside auditd's log spelled the way
  only auditd spells it (``type=SECCOMP msg=audit(``); ``facility=N`` a journald entry's facility.

Memory: ``feed_chunk`` holds one chunk; lines longer than ``MAX_LINE`` are skipped (``too-long``).
``seccomp_gen.lines`` cuts a byte stream into bounded chunks for it, so a 100 MB line without a
newline never sits in memory whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from seccomp_gen import _fastpath, _fields, _grammar
from seccomp_gen._fastpath import TallyRun
from seccomp_gen._fields import SkipLine
from seccomp_gen._framing import (
    FAMILY_AUDITD,
    FAMILY_HEADER,
    FAMILY_JSON,
    FAMILY_KMSG,
    FAMILY_PRINTK,
    Framing,
    split_framing,
)
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent, Transport
from seccomp_gen.formats import Format
from seccomp_gen.lines import MAX_LINE
from seccomp_gen.parse_stats import ParseStats, SkipReason
from seccomp_gen.tally import PyTally, Tally

Parsed = SeccompEvent | LossEvent


_FAMILIES: dict[Format, frozenset[str] | None] = {
    Format.AUTO: None,
    Format.KMSG: frozenset({FAMILY_KMSG}),
    Format.PRINTK: frozenset({FAMILY_PRINTK}),
    Format.SYSLOG: frozenset({FAMILY_HEADER}),
    Format.JOURNAL: frozenset({FAMILY_HEADER}),
    Format.JOURNAL_JSON: frozenset({FAMILY_JSON}),
    Format.AUDITD: frozenset({FAMILY_AUDITD}),
}


# A record inside a message: `[audit: ]type=T [msg=]audit(STAMP)[ ]: fields`.
_RECORD = re.compile(r"(audit: )?type=(\w{1,32}) (?:msg=)?audit\(([^()]{0,64})\) ?: ")
# journald's audit transport: the type name, then the fields (no stamp).
_TYPENAME = re.compile(r"(SECCOMP|ANOM_ABEND|AUDIT1326|AUDIT1701) (?=auid=)")
_STAMP = re.compile(r"(\d{1,20}\.\d{3}):(\d{1,10})")
_INTERPRETED_STAMP = re.compile(r"[^:]*\d\d:\d\d:\d\d(?:\.\d+)?:(\d{1,10})")
_SECCOMP_REASON = re.compile(r' reason="?seccomp"? ')
_SECCOMP_TYPES = frozenset({"1326", "SECCOMP"})
_ABEND_TYPES = frozenset({"1701", "ANOM_ABEND"})
_NAMED_TYPES = frozenset({"SECCOMP", "ANOM_ABEND"})
_LOSS = re.compile(
    r"(?:kauditd|audit)_printk_skb: (?P<printk>\d{1,24}) callbacks suppressed"  # audit_: older kernels
    r"|(?P<limit>audit: printk limit exceeded)"
    r"|(?:audit: )?audit_lost=(?P<lost>\d{1,24})"
    r"|(?P<backlog>audit: backlog limit exceeded)"
    r"|(?P<other>audit: (?:rate limit exceeded|kauditd hold queue overflow|kauditd retry queue overflow))"
    r"|Suppressed (?P<journal>\d{1,24}) messages"
    r"|Missed (?P<missed>\d{1,24}) kernel messages"
)
_LOSS_KINDS = {
    "printk": LossKind.PRINTK_SUPPRESSED,
    "limit": LossKind.PRINTK_LIMIT,
    "lost": LossKind.AUDIT_LOST,
    "backlog": LossKind.BACKLOG_LIMIT,
    "other": LossKind.AUDIT_LOST,
    "journal": LossKind.JOURNAL_SUPPRESSED,
    "missed": LossKind.KMSG_GAP,
}
_CANDIDATE = re.compile(_grammar.CANDIDATE)
_LITERALS = tuple(literal.decode() for literal in _grammar.LITERALS)


def _example(text: str) -> str:
    """A skipped line, cut to 100 characters, as it can be shown on one line (escapes for control ones)."""
    line = text.rstrip("\r\n")
    cut = line[:100] + ("..." if len(line) > 100 else "")
    return cut if cut.isprintable() else json.dumps(cut)[1:-1]


class RecordParser:
    """A stateful parser (some layouts span lines, e.g. plain ``ausearch``); counts what it skips.

    >>> parser = RecordParser()
    >>> event = parser.feed_line('type=SECCOMP msg=audit(1613596317.899:6461): auid=4294967295 uid=0 '
    ...     'gid=0 ses=4294967295 pid=1 comm="ls" exe="/bin/ls" sig=0 arch=c000003e syscall=3 '
    ...     'compat=0 ip=0x7f62dce3d4c7 code=0x7ffc0000')
    >>> (event.syscall, str(event.action), event.comm)
    (3, 'LOG', 'ls')
    """

    def __init__(self, fmt: Format = Format.AUTO, *, accelerated: bool | None = None) -> None:
        """``accelerated``: run ``feed_chunk``'s hot loop in C (True: required), in Python (False), or in C
        when ``seccomp_gen._accel`` is there (None). Both give the same results.
        """
        self.format = fmt
        self.stats = ParseStats()
        self._families = _FAMILIES[fmt]
        self._journal = fmt is Format.JOURNAL
        self._fast = _fastpath.FastPath(self._families, journal=self._journal, accelerated=accelerated)

    @property
    def accelerated(self) -> bool:
        """Whether ``feed_chunk`` runs its hot loop in C."""
        return self._fast.accelerated

    def feed_line(self, line: str) -> Parsed | None:
        """Parse one line (without or with its newline)."""
        self.stats.lines += 1
        return self._count(self._line(line), line)

    def feed_chunk(self, data: bytes, tally: TallyRun | None = None) -> list[Parsed]:
        """Fast path: parse a chunk of whole lines (ends at a newline), skipping non-records fast.

        Only the lines around a candidate (``type=1326``, ``SECCOMP``, a loss marker ...) are looked
        at; a trailing piece without a newline is taken as a last whole line. With ``tally`` (and the C
        accelerator) records of the everyday shape are counted into it by prototype, not returned,
        and every other item goes to its ``sink`` as it is read: nothing is returned.
        """
        lines = _fastpath.count_lines(data)
        self.stats.lines += lines
        out: list[Parsed] = []
        examined = self._fast.scan(data, out, self, tally)
        self.stats.noise += lines - examined
        return out

    def forget_decisions(self) -> None:
        """Make the C loop ask ``TallyRun.decide`` again for every prototype."""
        self._fast.forget_slots()

    @property
    def decisions_dropped(self) -> int:
        """How often the C loop dropped every decision it held (its prototype cache was full)."""
        return self._fast.decisions_dropped

    def flush(self) -> list[Parsed]:
        """End of input: whatever a multi-line layout still holds (every layout read so far is one line)."""
        return []

    def count_skipped(self, reason: SkipReason, count: int = 1) -> None:
        """Count lines a line source dropped before the parser saw them (``too-long``): they are lines too."""
        self.stats.lines += count
        self.stats.skip(reason, count)

    def parse_slow(self, raw: bytes) -> Parsed | None:
        """One candidate line from ``feed_chunk`` that the fast pattern did not take."""
        text = raw.decode("utf-8", "replace")
        return self._count(self._line(text), text)

    def _count(self, result: Parsed | SkipLine | None, text: str = "") -> Parsed | None:
        if result is None:
            self.stats.noise += 1
        elif isinstance(result, SkipLine):
            self.stats.skip(result.reason)
            if result.reason not in self.stats.examples and len(self.stats.examples) < 32:
                self.stats.examples[result.reason] = _example(text)
            return None
        elif isinstance(result, SeccompEvent):
            self.stats.records += 1
        else:
            self.stats.losses += 1
        return result

    def _line(self, line: str) -> Parsed | SkipLine | None:
        try:
            return self._parse(line)
        except SkipLine as skip:
            return skip

    def _parse(self, line: str) -> Parsed | None:
        if line.endswith("\n"):
            line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
        if not any(literal in line for literal in _LITERALS) or _CANDIDATE.search(line) is None:
            return None
        if len(line) > MAX_LINE:
            raise SkipLine(SkipReason.TOO_LONG)
        if "\x00" in line:
            raise SkipLine(SkipReason.NUL_BYTE)
        framing = split_framing(line, self._families, self._journal)
        # In auditd's log a line is one record: its first type= decides. Elsewhere a record may
        # follow other text on the line (a printk line glued to the previous message).
        find = _RECORD.match if framing.transport is Transport.AUDITD else _RECORD.search
        record = find(framing.body)
        if record is not None:
            return _record(framing, record)
        named = _TYPENAME.match(framing.body)
        if named is not None and framing.transport in _NAMED_TRANSPORTS:
            return _named_record(framing, named)
        loss = _LOSS.match(framing.body)  # the kernel's and journald's own form: at the message start
        if loss is not None:
            return _loss(framing, loss, line)
        if any(found.lastgroup in ("rec", "other") for found in _CANDIDATE.finditer(framing.body)):
            raise SkipLine(SkipReason.MALFORMED_RECORD)
        return None


_NAMED_TRANSPORTS = frozenset({Transport.JOURNAL_AUDIT, Transport.JOURNAL_OTHER, Transport.JOURNAL_KERNEL})


def _record(framing: Framing, record: re.Match[str]) -> SeccompEvent:
    """``[audit: ]type=T audit(STAMP): fields`` inside ``framing.body``."""
    kind = record.group(2)
    _check_type(kind, framing.body[record.end() :])
    facts = list(framing.facts)
    if record.group(1):
        facts.append("audit-prefix")
    if record.start() != 0:
        facts.append("mid-line")
    if framing.transport is not Transport.AUDITD and (kind in _NAMED_TYPES or "msg=" in record.group(0)):
        facts.append("auditd-form")  # the kernel's printk says `type=1326 audit(`, auditd `type=SECCOMP msg=`
    stamp = _STAMP.fullmatch(record.group(3))
    if stamp is not None:
        serial = _fields.u32(stamp.group(2))
        return _event(framing, framing.body[record.end() :], (float(stamp.group(1)), serial), facts)
    interpreted = _INTERPRETED_STAMP.fullmatch(record.group(3))
    if interpreted is None:
        raise SkipLine(SkipReason.MALFORMED_STAMP)
    facts.append("interpreted")
    serial = _fields.u32(interpreted.group(1))
    return _event(framing, framing.body[record.end() :], (None, serial), facts, interpreted=True)


def _named_record(framing: Framing, named: re.Match[str]) -> SeccompEvent:
    """journald's audit transport: ``SECCOMP auid=...`` (stamp, if any, from the entry's fields)."""
    if framing.audit_type is not None and framing.audit_type not in ("1326", "1701"):
        raise SkipLine(SkipReason.OTHER_AUDIT_TYPE)
    name = named.group(1)
    _check_type("1701" if name in ("ANOM_ABEND", "AUDIT1701") else "1326", framing.body[named.end() :])
    stamp = framing.stamp if framing.stamp is not None else (None, None)
    return _event(framing, framing.body[named.end() :], stamp, [*framing.facts, "typename"])


def _check_type(kind: str, fields: str) -> None:
    if kind in _SECCOMP_TYPES:
        return
    if kind in _ABEND_TYPES and _SECCOMP_REASON.search(fields) is not None:
        return
    raise SkipLine(SkipReason.OTHER_AUDIT_TYPE)


def _event(
    framing: Framing,
    text: str,
    stamp: tuple[float | None, int | None],
    facts: list[str],
    *,
    interpreted: bool = False,
) -> SeccompEvent:
    values = _fields.parse_fields(text, interpreted=interpreted)
    if values.enriched:
        facts.append("enriched")
    arch, syscall = values.arch, values.syscall
    if interpreted:
        arch, syscall = _numbers(values)
    assert syscall is not None
    return SeccompEvent(
        syscall,
        arch,
        values.action,
        stamp[0],
        stamp[1],
        values.compat,
        values.auid,
        values.uid,
        values.gid,
        values.ses,
        values.subj,
        values.pid,
        values.comm,
        values.exe,
        values.sig,
        values.ip,
        framing.transport,
        framing.hostname,
        ",".join(facts),
    )


def _numbers(values: _fields.Fields) -> tuple[int | None, int]:
    """``ausearch -i``: ABI name and syscall name back to ``arch`` and the number."""
    from seccomp_gen import abi, syscalls
    from seccomp_gen.errors import SeccompGenError

    arch = values.arch
    found = None
    try:
        if values.arch_name is not None:
            found = abi.get_abi(values.arch_name)
            arch = found.audit_arch
        elif arch is not None:
            found = abi.resolve(arch, values.syscall or 0)
    except SeccompGenError:
        raise SkipLine(SkipReason.UNKNOWN_ABI) from None
    if values.syscall is not None:
        return arch, values.syscall
    if found is None or values.syscall_name is None:
        raise SkipLine(SkipReason.UNKNOWN_SYSCALL_NAME)
    try:
        return arch, syscalls.syscall_number(found, values.syscall_name)
    except SeccompGenError:
        raise SkipLine(SkipReason.UNKNOWN_SYSCALL_NAME) from None


def _loss(framing: Framing, loss: re.Match[str], line: str) -> LossEvent:
    kind = loss.lastgroup
    assert kind is not None
    number = loss.group(kind)
    count = None
    if number.isdigit():
        count = int(number)
        if count > _fields.I64:
            raise SkipLine(SkipReason.NUMBER_OUT_OF_RANGE)
    return LossEvent(_LOSS_KINDS[kind], count, framing.time, line)


def parse_lines(lines: Iterable[str], fmt: Format = Format.AUTO) -> Iterator[Parsed]:
    """Parse an iterable of lines; convenience over ``RecordParser``."""
    parser = RecordParser(fmt)
    for line in lines:
        result = parser.feed_line(line)
        if result is not None:
            yield result
    yield from parser.flush()


def new_tally() -> Tally:
    """A tally for ``feed_chunk``: the C loop's own when the accelerator is loaded, else ``PyTally``."""
    if _fastpath.ACCEL is not None:
        tally: Tally = _fastpath.ACCEL.Tally()
        return tally
    return PyTally()


__all__ = [
    "MAX_LINE",
    "Format",
    "ParseStats",
    "Parsed",
    "RecordParser",
    "TallyRun",
    "new_tally",
    "parse_lines",
]
