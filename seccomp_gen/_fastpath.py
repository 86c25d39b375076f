"""The hot loop of ``RecordParser.feed_chunk``: find candidate lines in a big chunk, parse the usual ones.

One compiled bytes pattern finds the next candidate (a record, another audit type, a loss marker)
anywhere in the chunk, so noise lines are never split or decoded. A candidate line whose shape is
the everyday one (printk, kmsg, syslog ``host kernel:``, auditd; fields in kernel order, values in
range) is taken apart by a second anchored pattern and turned into a ``SeccompEvent`` without
decoding the line. Anything else goes to the general, slower path in ``records``, which is the
reference: both give equal results for every line (the tests check it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from seccomp_gen._fields import KEYS, PID_MAX, U32, U64, action_of
from seccomp_gen.events import SeccompEvent, Transport

if TYPE_CHECKING:
    from seccomp_gen.events import LossEvent
    from seccomp_gen.records import ParseStats

# Candidates: a seccomp record | another audit record type | a loss marker. Also used, as text, by
# the general path, so both paths call the same lines noise.
CANDIDATE = (
    r"(?P<rec>type=(?:1326|SECCOMP|1701|ANOM_ABEND) |SECCOMP auid=|AUDIT1326 |AUDIT1701 )"
    r"|(?P<other>type=\w{1,32} (?:msg=)?audit\([^()\n]{0,64}\) ?: )"
    r'|(?P<bytes>"MESSAGE": ?\[)'  # journald's MESSAGE as an array of bytes (not UTF-8)
    r"|(?P<loss>callbacks suppressed|printk limit exceeded|audit_lost=|backlog limit exceeded"
    r"|rate limit exceeded|queue overflow|Suppressed \d|Missed \d)"
)
_CANDIDATE = re.compile(CANDIDATE.encode())
_INTEREST = re.compile(
    rb"type=(?:1326|SECCOMP|1701|ANOM_ABEND) |SECCOMP auid=|AUDIT1326 |AUDIT1701 |"
    rb"callbacks suppressed|printk limit exceeded|audit_lost=|backlog limit exceeded"
    rb"|rate limit exceeded|queue overflow|Suppressed \d|Missed \d"
)
_KEY = re.compile(rb"(?:^| )(?:" + "|".join(KEYS).encode() + rb")=")

_FAST = re.compile(
    rb"(?:(?:(\d{1,4}),\d{1,20},\d{1,20},[^;\n]{0,16};"  # 1 kmsg level
    rb"|(?:<(\d{1,3})>)?"  # 2 PRI
    rb"(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"
    rb"|[A-Z][a-z]{2} [ 0-3]?\d \d\d:\d\d:\d\d) +([^\s:]+) +kernel: ?)?)"  # 3 stamp, 4 host
    rb"(\[ *\d{1,10}\.\d{1,9}\] ?)?(\[ *[TC]\d{1,10}\] ?)?"  # 5 uptime, 6 caller
    rb"audit: type=1326 audit\((\d{1,20}\.\d{3}):(\d{1,10})\): "  # 7 seconds, 8 serial
    rb"|(?:node=(\S+) )?type=SECCOMP msg=audit\((\d{1,20}\.\d{3}):(\d{1,10})\): )"  # 9 node, 10, 11
    rb"auid=(\d{1,10}) uid=(\d{1,10}) gid=(\d{1,10}) ses=(\d{1,10})"  # 12-15
    rb"(?: subj=([^\n\x1d]*?))? pid=(\d{1,10}) "  # 16 subj, 17 pid
    rb'comm=("[!#-~]*"|(?:[0-9A-Fa-f]{2})+) exe=("[!#-~]*"|(?:[0-9A-Fa-f]{2})+|\(null\)) '  # 18, 19
    rb"sig=(\d{1,10}) arch=([0-9a-f]{1,8}) syscall=(\d{1,20}) compat=(\d{1,10}) "  # 20-23
    rb"ip=0x([0-9a-f]{1,16}) code=0x([0-9a-f]{1,8})"  # 24, 25
    rb"(\x1d[^\n]*|[A-Z][A-Z0-9_]*=[^\n]*)?\r?\Z"  # 26 auditd enrichment
)

_CACHE_MAX = 4096


class _Slow(Protocol):
    stats: ParseStats

    def parse_slow(self, raw: bytes) -> SeccompEvent | LossEvent | None: ...


class FastPath:
    """Per-parser state of the hot loop: decoded-string caches and the format restriction."""

    def __init__(self, families: frozenset[str] | None, *, journal: bool) -> None:
        self._families = families
        self._syslog = Transport.JOURNAL_KERNEL if journal else Transport.SYSLOG
        self._text: dict[bytes, str] = {}
        self._strings: dict[bytes, str] = {}
        self._arches: dict[bytes, int] = {}
        self._facts: dict[tuple[object, ...], tuple[Transport, str] | None] = {}

    def scan(self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow) -> int:
        """Parse the candidate lines of ``data`` into ``out``; return how many lines were looked at."""
        from seccomp_gen.records import MAX_LINE

        stats = slow.stats
        search, match, build = _CANDIDATE.search, _FAST.match, self._build
        has_nul = b"\x00" in data
        quick_other = self._families is None
        end = len(data)
        examined = pos = 0
        while (hit := search(data, pos)) is not None:
            start = data.rfind(b"\n", 0, hit.start()) + 1
            stop = data.find(b"\n", hit.start())
            if stop < 0:
                stop = end
            pos = stop + 1
            examined += 1
            nul = has_nul and data.find(b"\x00", start, stop) >= 0
            if stop - start > MAX_LINE or nul:
                stats.skip("too-long" if stop - start > MAX_LINE else "nul-byte")
                continue
            if (
                quick_other
                and hit.lastgroup == "other"
                and data[start] != 0x7B  # a journal JSON entry may be malformed: the general path says
                and _INTEREST.search(data, hit.end(), stop) is None
            ):
                stats.skip("other-audit-type")
                continue
            fast = match(data, start, stop)
            event = build(fast) if fast is not None else None
            if event is not None:
                out.append(event)
                stats.records += 1
                continue
            result = slow.parse_slow(data[start:stop])
            if result is not None:
                out.append(result)
        return examined

    def _build(self, m: re.Match[bytes]) -> SeccompEvent | None:
        """The event of a fast match, or None to let the general path decide (a rare shape)."""
        g = m.groups()
        framing = self._framing(g)
        if framing is None:
            return None
        subj, tail = g[15], g[25]
        if (subj is not None and (not subj or _KEY.search(subj))) or (
            tail and tail[0] != 0x1D and _KEY.search(tail)
        ):
            return None
        auid, uid, gid, ses = int(g[11]), int(g[12]), int(g[13]), int(g[14])
        pid, sig, syscall, compat = int(g[16]), int(g[19]), int(g[21]), int(g[22])
        serial = int(g[7] if g[7] is not None else g[10])
        if max(auid, uid, gid, ses, sig, compat, serial) > U32 or pid > PID_MAX or syscall > U64:
            return None
        arch = self._arches.get(g[20])
        if arch is None:
            arch = self._arch(g[20])
        return SeccompEvent(
            syscall,
            arch,
            action_of(int(g[24], 16)),
            float(g[6] if g[6] is not None else g[9]),
            serial,
            compat,
            auid,
            uid,
            gid,
            ses,
            None if subj is None else self._subj(subj),
            pid,
            self._string(g[17]),
            self._string(g[18]),
            sig,
            int(g[23], 16),
            framing[0],
            self._host(g[3] if g[3] is not None else g[8]),
            framing[1] if not tail else framing[1] + ("," if framing[1] else "") + "enriched",
        )

    def _framing(self, g: tuple[bytes | None, ...]) -> tuple[Transport, str] | None:
        """Transport and facts from which framing groups matched (cached: few combinations occur)."""
        key = (
            g[0],
            g[1],
            None if g[2] is None else g[2][:1].isdigit(),
            g[4] is not None,
            g[5] is not None,
            g[8] is not None,
            g[6] is None,
        )
        found = self._facts.get(key, False)
        if found is False:
            found = self._facts[key] = self._facts_of(key)
        return found  # type: ignore[return-value]

    def _facts_of(self, key: tuple[object, ...]) -> tuple[Transport, str] | None:
        from seccomp_gen._framing import FAMILY_AUDITD, FAMILY_HEADER, FAMILY_KMSG, FAMILY_PRINTK

        kmsg, pri, rfc3339, uptime, caller, node, auditd = key
        facts: list[str] = []
        if auditd:
            family, transport = FAMILY_AUDITD, Transport.AUDITD
            facts += ["node"] if node else []
        else:
            if kmsg is not None:
                family, transport = FAMILY_KMSG, Transport.KMSG
                facts += ["kmsg", f"kmsg-prio={_text(kmsg)}"]
            elif rfc3339 is not None:
                family, transport = FAMILY_HEADER, self._syslog
                facts += [f"pri={_text(pri)}"] if pri is not None else []
                facts += ["rfc3339" if rfc3339 else "rfc3164", "tag=kernel"]
            else:
                family, transport = FAMILY_PRINTK, Transport.PRINTK
                facts += [f"pri={_text(pri)}"] if pri is not None else []
            facts += (["uptime"] if uptime else []) + (["caller"] if caller else []) + ["audit-prefix"]
        if self._families is not None and family not in self._families:
            return None
        return transport, ",".join(facts)

    def _arch(self, raw: bytes) -> int:
        if len(self._arches) >= _CACHE_MAX:
            self._arches.clear()
        value = self._arches[raw] = int(raw, 16)
        return value

    def _decode(self, raw: bytes) -> str:
        text = self._text.get(raw)
        if text is None:
            if len(self._text) >= _CACHE_MAX:
                self._text.clear()
            text = self._text[raw] = raw.decode("utf-8", "replace")
        return text

    def _host(self, raw: bytes | None) -> str | None:
        return None if raw is None else self._decode(raw)

    def _subj(self, raw: bytes) -> str | None:
        text = self._decode(raw)
        if not text:
            return None
        return text[1:] if text.startswith("=") and len(text) > 1 else text

    def _string(self, raw: bytes) -> str:
        """A ``comm``/``exe`` value: quoted as is, or hex decoded (see ``_fields.untrusted_string``)."""
        text = self._strings.get(raw)
        if text is None:
            if len(self._strings) >= _CACHE_MAX:
                self._strings.clear()
            if raw[:1] == b'"':
                text = raw[1:-1].decode("ascii")
            elif raw == b"(null)":
                text = "(null)"
            else:
                text = bytes.fromhex(raw.decode("ascii")).decode("utf-8", "backslashreplace")
            self._strings[raw] = text
        return text


def _text(raw: object) -> str:
    assert isinstance(raw, bytes)
    return raw.decode("ascii")
