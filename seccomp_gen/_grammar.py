"""The record grammar of the fast loops: which lines are candidates, and the shapes they are read by.

``FAST`` reads a whole everyday record line; ``HEAD`` is its framing matched against a line's shape
(digits turned into 0 by ``ZERO``); ``CANDIDATE`` (also the general path's, as text) finds the lines
that matter, ``LITERALS`` the bytes one of them must hold. ``only_another_type`` is the one test for
an auditd line of another audit type. The decoders at the end turn the groups of ``FAST`` into values.
The C loop (``_accel.c``) follows the same grammar; the tests check its events equal these.
"""

from __future__ import annotations

import re

from seccomp_gen._fields import KEYS, U32
from seccomp_gen.lines import MAX_LINE

# Candidates: a seccomp record | another audit record type | a loss marker. Also used, as text, by
# the general path, so both paths call the same lines noise.
CANDIDATE = (
    r"(?P<rec>type=(?:1326|SECCOMP|1701|ANOM_ABEND) |SECCOMP auid=|AUDIT1326 |AUDIT1701 )"
    r"|(?P<other>type=\w{1,32} (?:msg=)?audit\([^()\n]{0,64}\) ?: )"
    r'|(?P<bytes>"MESSAGE": ?\[)'  # journald's MESSAGE as an array of bytes (not UTF-8)
    r'|(?P<nulled>"MESSAGE": ?null)'  # journalctl -o json: a field over 4096 bytes is shown as null
    r"|(?P<loss>callbacks suppressed|printk limit exceeded|audit_lost=|backlog limit exceeded"
    r"|rate limit exceeded|queue overflow|Suppressed \d|Missed \d)"
)
CANDIDATE_RE = re.compile(CANDIDATE.encode())
NODE = re.compile(rb"node=[!-~]+ ")
OTHER = re.compile(rb"type=\w{1,32} (?:msg=)?audit\([^()\n]{0,64}\) ?: ")
SECCOMP_TYPES = (b"type=1326 ", b"type=SECCOMP ", b"type=1701 ", b"type=ANOM_ABEND ")
# A line is a candidate only if it holds one of these literals (found with bytes.find, far faster
# than a regex) and then matches CANDIDATE. "audit" is in every record, auditd line, kauditd /
# audit_lost / limit marker and journald audit or kernel entry; "ssed " in journald's "Suppressed N"
# and "Missed N"; "SECCOMP auid=" opens the audit transport's message alone (journalctl -o cat); the
# last two open a MESSAGE journald wrote as an array of bytes.
LITERALS = (b"audit", b"ssed ", b"SECCOMP auid=", b'"MESSAGE":[', b'"MESSAGE": [')
KEY = re.compile(rb"(?:^| )(?:" + "|".join(KEYS).encode() + rb")=")

FAST = re.compile(
    rb"^(?:(?:(\d{1,4}),\d{1,20},\d{1,20},[^;\n]{0,16};"  # 1 kmsg level
    rb"|(?:<(\d{1,3})>)?"  # 2 PRI
    rb"(?:(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?()"  # 3 RFC 3339
    rb"|[A-Z][a-z]{2} [ 0-3]?\d \d\d:\d\d:\d\d) +([!-9;-~]+) +kernel: ?)?)"  # 4 host
    rb"(?:\[ *\d{1,10}\.\d{1,9}\] ?())?(?:\[ *[TC]\d{1,10}\] ?())?"  # 5 uptime, 6 caller
    rb"audit: type=1326 |(?:node=([!-~]+) )?type=SECCOMP msg=())"  # 7 node, 8 auditd
    rb"audit\((\d{1,20}\.\d{3}):(\d{1,10})\): "  # 9 seconds, 10 serial
    rb"auid=(\d{1,10} uid=\d{1,10} gid=\d{1,10} ses=\d{1,10})"  # 11
    rb"(?: subj=([^\n\x1d]*?))? pid=(\d{1,10}) "  # 12 subj, 13 pid
    rb'(comm=(?:"[!#-~]*"|(?:[0-9A-Fa-f]{2})+) exe=(?:"[!#-~]*"|(?:[0-9A-Fa-f]{2})+|\(null\))) '  # 14
    rb"sig=(\d{1,10} arch=[0-9a-f]{1,8}) syscall=(\d{1,20}) compat=(\d{1,10}) "  # 15, 16, 17
    rb"ip=0x([0-9a-f]{1,16}) code=0x([0-9a-f]{1,8})"  # 18, 19
    rb"(\x1d[^\n]*|[A-Z][A-Z0-9_]*=[^\n]*)?\r?$",  # 20 auditd enrichment
    re.MULTILINE,
)
# An auditd line of the everyday shape, after the newline before it (see FastPath._auditd_log).
AUDITD_LINE = re.compile(rb"\ntype=[A-Z0-9_]{1,32} msg=audit\([0-9.:]{1,64}\): ")
SECCOMP_LINES = tuple(b"\n" + kind for kind in SECCOMP_TYPES)
# The framing before a record's `audit(`, matched against the line's shape (digits turned into 0):
# FAST's framing with every character class either holding all digits or none, so that a shape
# matches exactly when the line does, except RFC 3164's day `[ 0-3]?\d`, checked apart (group 3).
HEAD = re.compile(
    rb"(?:(\d{1,4}),\d{1,20},\d{1,20},[^;\n]{0,16};"  # 1 kmsg level
    rb"|(?:<(\d{1,3})>)?"  # 2 PRI
    rb"(?:(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"
    rb"|[A-Z][a-z]{2} ([ \d])?\d \d\d:\d\d:\d\d) +([!-9;-~]+) +kernel: ?)?)"  # 3 day, 4 host
    rb"(?:\[ *\d{1,10}\.\d{1,9}\] ?)?(?:\[ *[TC]\d{1,10}\] ?)?"
    rb"(?:audit: type=(0000) |(?:node=([!-~]+) )?type=(SECCOMP) msg=)"  # 5 1326 (checked apart), 6 node, 7
    rb"()audit\(\d{1,20}\.\d{3}():(\d{1,10})"  # 8 end of the framing, 9 end of the seconds, 10 serial
)
KINDS = (b"1326", b"SECCOMP")
OTHER_HEAD = re.compile(rb"type=\w{1,32} (?:msg=)?audit\([^()\n]{0,64}")  # shapes: OTHER without `): `
ZERO = bytes.maketrans(b"123456789", b"000000000")
HEX = b"0123456789abcdef"


def only_another_type(line: bytes) -> bool:
    """True for an auditd line holding a record of another type (SYSCALL, PATH, ...): in auditd's log a
    line is one record, so its first ``type=`` decides (the general path reads it the same way).
    """
    start = 0
    if line.startswith(b"node="):
        node = NODE.match(line)  # a name of printable ASCII: the general path reads others differently
        if node is None:
            return False
        start = node.end()
    if not line.startswith(b"type=", start) or line.startswith(SECCOMP_TYPES, start):
        return False
    return len(line) <= MAX_LINE and b"\x00" not in line and OTHER.match(line, start) is not None


def ids_of(raw: bytes) -> tuple[int, ...]:
    """``0 uid=0 gid=0 ses=1`` (after ``auid=``) → the four numbers; empty when one is out of range."""
    numbers = tuple(int(part.rpartition(b"=")[2]) for part in raw.split(b" "))
    return () if max(numbers) > U32 else numbers


def sig_arch_of(raw: bytes) -> tuple[int, ...]:
    """``31 arch=c000003e`` (after ``sig=``) → (31, 0xC000003E); empty when sig is out of range."""
    sig, _sep, arch = raw.partition(b" arch=")
    number = int(sig)
    return () if number > U32 else (number, int(arch, 16))


def subject_of(raw: bytes) -> str:
    """``subj=`` as ``_fields.subj_value`` reads it; empty when the general path must decide."""
    if not raw or KEY.search(raw):
        return ""
    text = raw.decode("utf-8", "replace")
    return text[1:] if text.startswith("=") and len(text) > 1 else text


def names_of(raw: bytes) -> tuple[str, str]:
    """``comm=... exe=...`` → decoded (see ``_fields.untrusted_string``)."""
    comm, _sep, exe = raw[5:].partition(b" exe=")
    return string_of(comm), string_of(exe)


def string_of(raw: bytes) -> str:
    if raw[:1] == b'"':
        return raw[1:-1].decode("ascii")
    if raw == b"(null)":
        return "(null)"
    return bytes.fromhex(raw.decode("ascii")).decode("utf-8", "backslashreplace")


def text_of(raw: object) -> str:
    assert isinstance(raw, bytes)
    return raw.decode("ascii")
