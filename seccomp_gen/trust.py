"""Cheap tests that catch a record forged to look like the kernel's, from its framing facts alone.

Trust itself is decided by where a record came from (``trust_of``, below): syslog text is
never trusted, because any local user can write ``logger -t kernel 'audit: type=1326 ...'``. These
heuristics go one step further and *reject* a record whose framing claims the kernel wrote it while
showing something the kernel, rsyslog's imklog and journald never produce. Each rests on how those
programs work, not on statistics, so no real kernel line of any framing the parser reads is
rejected (tests/test_forgery.py checks every captured and real-world line we have):

- ``kernel[PID]:``: the kernel has no pid; imklog and journald tag its lines ``kernel:``. A pid
  is what ``logger -i`` or a program's own syslog(3) call adds.
- a facility other than kern (0) on a line that claims the kernel: ``<13>`` in front of a syslog or
  printk line, ``13,...;`` in /dev/kmsg, ``SYSLOG_FACILITY=1`` from journald's kernel transport.
  The kernel sets facility 0 on its own messages and forces LOG_USER on anything user space writes
  to /dev/kmsg (kernel/printk/printk.c, devkmsg_write), and rsyslog's imuxsock turns a local
  program's kern facility into user: so such a record was written by a program.
- auditd's spelling under a kernel claim: the kernel prints ``audit: type=1326 audit(TS:SERIAL):``;
  ``type=SECCOMP msg=audit(``, auditd's enrichment and ``ausearch -i`` names exist only in auditd's
  output, so a ``kernel:`` line carrying them was copied from there.
- journald's audit-transport spelling (``SECCOMP auid=...``) under a kernel claim.
- a record that starts in the middle of a /dev/kmsg record or of a journald kernel or audit entry:
  the kernel begins every audit record as a message of its own (a message with a log level always
  starts a new record), so such text came inside another message, e.g. a path or name a user chose
  that the kernel printed in a warning. These are the trusted transports, so this one matters
  most. (In console logs and dmesg output records do appear mid-line, interleaved: not used there.)

Such records are **rejected and counted** (``rejected``/``suspected-forgery`` in the state's
counters, shown by ``learn`` and ``status``) rather than kept as untrusted: each test is certain,
and an untrusted record still widens the default profile (with a warning), which a known forgery
must not. A forger who copies the kernel's framing exactly (``kernel: [ 1234.567890] audit: ...``)
is not caught here: that line stays *untrusted*, so ``emit`` warns about every syscall it alone
adds and ``emit --trusted-only`` leaves it out. Only sources a user cannot write to are trusted:
/dev/kmsg (what a program with write access puts there is marked facility user, see above),
journald's own fields, a root-owned audit.log.

What is *not* used, on purpose: a syslog ``kernel:`` line without the kernel's ``[uptime]`` stamp
(``journalctl -o short`` prints real kernel lines that way, and rsyslog's imklog may drop it), a
record in the middle of a syslog or console line (console logs interleave), a missing ``audit:``
prefix (older kernels printed none), the header's time against the record's (clocks step),
the shape of the uptime stamp (the parser's fast path does not keep it).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import NamedTuple

from seccomp_gen.bounded import remember
from seccomp_gen.events import SeccompEvent, Transport
from seccomp_gen.sources import SourceKind

SUSPECTED_FORGERY = "suspected-forgery"  # the ``rejected`` counter's reason

# Facts by which a line says the kernel wrote it (see seccomp_gen._framing).
_KERNEL_TAGS = frozenset({"tag=kernel", "tag=kernel[pid]", "kmsg", "transport=kernel"})
_PRINTK_FACTS = frozenset({"uptime", "caller", "dmesg-time"})  # a bare line framed the way printk does
_AUDITD_ONLY = {
    "auditd-form": "it is spelled the way auditd's log spells records (`type=SECCOMP msg=audit(`), "
    "not the kernel's `audit: type=1326 audit(`",
    "enriched": "it carries auditd's enrichment (UID=... after the record), which the kernel never prints",
    "interpreted": "it carries `ausearch -i` names, which the kernel never prints",
    "typename": "it is spelled the way journald's audit transport spells records (`SECCOMP auid=`)",
}
_PRIORITY_PREFIXES = ("pri=", "kmsg-prio=")
_WHOLE_MESSAGES = frozenset({"kmsg", "transport=kernel", "transport=audit"})  # one message per record

_CACHE_MAX = 1024  # a log holds few distinct framings; a forged one must not grow this without bound
_verdicts: dict[str, tuple[Transport, str | None]] = {}  # framing → (transport, verdict)


def forgery_suspicion(event: SeccompEvent) -> str | None:
    """Why ``event`` cannot have come from the kernel the way its framing claims; None when it can.

    A ``str`` names the reason in words, for a warning. Cheap: one dictionary look-up per record
    (the verdict depends only on the transport and the framing facts, and a log has few of those).
    """
    framing, transport = event.framing, event.transport
    known = _verdicts.get(framing)  # keyed by the string alone: hashing an Enum runs Python code
    if known is not None and known[0] is transport:
        return known[1]
    return remember(_verdicts, framing, (transport, judge_framing(transport, framing)), _CACHE_MAX)[1]


def claims_kernel(transport: Transport, facts: frozenset[str]) -> bool:
    """Whether a line's framing says the kernel wrote it (a ``kernel:`` tag, /dev/kmsg, printk's look)."""
    if facts & _KERNEL_TAGS or transport in (Transport.KMSG, Transport.JOURNAL_KERNEL):
        return True
    if transport is not Transport.PRINTK:
        return False
    return bool(facts & _PRINTK_FACTS) or any(fact.startswith("pri=") for fact in facts)


def judge_framing(transport: Transport, framing: str) -> str | None:
    """``forgery_suspicion`` without the cache: the facts of one framing, judged."""
    facts = frozenset(framing.split(",")) if framing else frozenset()
    if "mid-line" in facts and facts & _WHOLE_MESSAGES:
        return (
            "it starts in the middle of a kernel message, and the kernel starts each audit record as a "
            "message of its own (the text came inside another message)"
        )
    if "tag=kernel[pid]" in facts:
        return "its `kernel[PID]:` tag has a pid, and the kernel has none (`logger -i` writes such tags)"
    if not claims_kernel(transport, facts):
        return None
    facility = _facility(facts)
    if facility:
        return (
            f"it claims the kernel but has syslog facility {facility}; the kernel's own messages have "
            "facility 0 (kern), and what programs write gets another"
        )
    for fact, why in _AUDITD_ONLY.items():
        if fact in facts:
            return f"it claims the kernel but {why}"
    return None


def _facility(facts: frozenset[str]) -> int:
    """The syslog facility the facts state (``pri=13`` → 1, ``facility=1`` → 1), 0 when none."""
    for fact in facts:
        if fact.startswith(_PRIORITY_PREFIXES):
            value = fact.partition("=")[2]
            if value.isdigit():
                return int(value) >> 3
        elif fact.startswith("facility="):
            value = fact.partition("=")[2]
            if value.isdigit():
                return int(value)
    return 0


def trust_of(kind: SourceKind, event: SeccompEvent, *, root_owned: bool = False) -> bool | None:
    """Whether a record is trusted, given where it came from; None: reject it.

    journald's own fields (``-o json``: ``_TRANSPORT`` kernel or audit) are set by journald, not by
    whoever wrote the line; /dev/kmsg only the kernel writes; auditd's log is trusted when read from a
    root-owned file nobody else can write. Text framings (syslog, ``journalctl -o short``, a
    ``kernel:`` or ``audit[PID]:`` tag) can be forged by any local user with ``logger``: untrusted.
    journald JSON is trusted from the journal itself, from stdin (``journalctl -o json |``) and from
    a root-owned file. (``Learner`` judges stdin redirected from a file, ``learn < FILE``, as that
    file.) Forgery heuristics (``forgery_suspicion``, above) are applied after this.
    """
    transport = event.transport
    if transport is Transport.JOURNAL_OTHER:
        return None
    if kind is SourceKind.KMSG:
        return True
    files = (SourceKind.FILE, SourceKind.GZIP)
    if transport in (Transport.JOURNAL_KERNEL, Transport.JOURNAL_AUDIT):
        if kind is SourceKind.JOURNAL:
            return True
        is_json = "json" in event.framing.split(",")
        # `journalctl -o json | seccomp-gen learn`: stdin is the user's pipe. A JSON file counts
        # only when root-owned (like audit.log): anyone can write a file of made-up entries.
        return is_json and (kind is SourceKind.STDIN or (root_owned and kind in files))
    if transport is Transport.AUDITD:
        return root_owned and kind in files
    return False


JOURNAL_OTHER_TRANSPORT = "journal-other-transport"  # the reason a posing journald entry is rejected


class Verdict(NamedTuple):
    """What learn and explain make of a record's origin: trusted or not, or rejected and why."""

    trusted: bool  # False too when rejected
    rejected: str | None = None  # the counter's reason: JOURNAL_OTHER_TRANSPORT or SUSPECTED_FORGERY
    why: str | None = None  # a rejection in words, for a warning or explain's column


def verdict_of(kind: SourceKind, event: SeccompEvent, *, root_owned: bool = False) -> Verdict:
    """``trust_of``, then ``forgery_suspicion``: the one judgement of a record both commands give."""
    trusted = trust_of(kind, event, root_owned=root_owned)
    if trusted is None:
        return Verdict(False, JOURNAL_OTHER_TRANSPORT, "a journald entry of another transport posing as one")
    suspicion = forgery_suspicion(event)
    if suspicion is not None:  # certain signs, so rejected, not kept untrusted
        return Verdict(False, SUSPECTED_FORGERY, f"suspected forgery: {suspicion}")
    return Verdict(trusted)


def origin_of(
    kind: SourceKind, path: Path | None, *, fd: int | None = None, opened: os.stat_result | None = None
) -> tuple[SourceKind, bool]:
    """(kind, root-owned) of an input, for ``trust_of``.

    ``opened`` is the fstat of the descriptor being read: the file judged is the one read, not what
    the path names now (a path swapped for a link between open and judgement proves nothing).
    Without it, ``path`` is judged. Either way the file's directories must be root's too (see
    ``_directories_trusted``). ``fd`` is the descriptor of stdin, which counts as the file it was
    redirected from (``learn < F``) when it is a regular file.
    """
    owned = False
    if path is not None:
        st = opened if opened is not None else _stat_or_none(path)
        owned = st is not None and _owned_by_root(st) and _directories_trusted(path)
    origin = (kind, owned)
    if fd is not None:
        with contextlib.suppress(OSError):
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode):
                origin = (SourceKind.FILE, _owned_by_root(st))
    return origin


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _owned_by_root(st: os.stat_result) -> bool:
    """A regular file owned by root and writable by nobody else."""
    return stat.S_ISREG(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022


_SYSTEM_GID_MAX = 999  # Debian's system groups (adm, syslog): a log directory they may write is root's


def _directories_trusted(path: Path) -> bool:
    """Every directory above the file is root's: owned by root, writable by no other user (a sticky
    directory such as /tmp excepted: others cannot replace what root put there), by no group but a
    system group. Whoever can write a directory can rename a file of their own into the path."""
    for directory in Path(os.path.realpath(path)).parents:
        st = _stat_or_none(directory)
        if st is None or st.st_uid != 0:
            return False
        sticky = bool(st.st_mode & stat.S_ISVTX)
        if st.st_mode & stat.S_IWOTH and not sticky:
            return False
        if st.st_mode & stat.S_IWGRP and st.st_gid > _SYSTEM_GID_MAX and not sticky:
            return False
    return True


__all__ = [
    "JOURNAL_OTHER_TRANSPORT",
    "SUSPECTED_FORGERY",
    "Verdict",
    "claims_kernel",
    "forgery_suspicion",
    "judge_framing",
    "origin_of",
    "trust_of",
    "verdict_of",
]
