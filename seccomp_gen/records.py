"""Text to ``SeccompEvent``/``LossEvent``, and nothing else: pure, no I/O.

INTERFACE STUB — being implemented (issue 3). The names below are the contract learn/explain use.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from seccomp_gen.events import LossEvent, SeccompEvent

Parsed = SeccompEvent | LossEvent


class Format(enum.Enum):
    """Input formats; AUTO detects per line."""

    AUTO = "auto"
    KMSG = "kmsg"  # /dev/kmsg records
    PRINTK = "printk"  # dmesg / bare kernel lines
    SYSLOG = "syslog"  # RFC 3164 / RFC 3339 syslog files (syslog, kern.log, messages)
    JOURNAL = "journal"  # journalctl -o short* (incl. audit transport `audit[PID]: SECCOMP`)
    JOURNAL_JSON = "journal-json"  # journalctl -o json, one object per line
    AUDITD = "auditd"  # audit.log raw/enriched, ausearch, ausearch -i


@dataclass(slots=True)
class ParseStats:
    """What a parser saw: lines read, records and losses found, lines skipped by reason."""

    lines: int = 0
    records: int = 0
    losses: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


class RecordParser:
    """A stateful parser (some layouts span lines, e.g. plain ``ausearch``); counts what it skips."""

    def __init__(self, fmt: Format = Format.AUTO) -> None:
        self.format = fmt
        self.stats = ParseStats()

    def feed_line(self, line: str) -> Parsed | None:
        """Parse one line (without or with its newline)."""
        raise NotImplementedError

    def feed_chunk(self, data: bytes) -> list[Parsed]:
        """Fast path: parse a chunk of whole lines (ends at a newline), skipping non-records fast."""
        raise NotImplementedError

    def flush(self) -> list[Parsed]:
        """End of input: whatever a multi-line layout still holds."""
        raise NotImplementedError


def parse_lines(lines: Iterable[str], fmt: Format = Format.AUTO) -> Iterator[Parsed]:
    """Parse an iterable of lines; convenience over ``RecordParser``."""
    raise NotImplementedError
