"""The input formats ``--format`` names (the parser reads them in ``seccomp_gen.records``).

Its own module so that the command line can offer the choice without importing the parser.
"""

from __future__ import annotations

import enum


class Format(enum.Enum):
    """Input formats; AUTO detects per line."""

    AUTO = "auto"
    KMSG = "kmsg"  # /dev/kmsg records
    PRINTK = "printk"  # dmesg / bare kernel lines
    SYSLOG = "syslog"  # RFC 3164 / RFC 3339 syslog files (syslog, kern.log, messages)
    JOURNAL = "journal"  # journalctl -o short* (incl. audit transport `audit[PID]: SECCOMP`)
    JOURNAL_JSON = "journal-json"  # journalctl -o json, one object per line
    AUDITD = "auditd"  # audit.log raw/enriched, ausearch, ausearch -i
