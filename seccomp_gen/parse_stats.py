"""What a parser counts as it reads: one value type, shared by ``records`` and ``_fastpath``
(its own module so that neither imports the other for it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seccomp_gen.strenum import StrEnum


class SkipReason(StrEnum):
    """Why a line that looked like a record or a loss marker was not read as one (``ParseStats.skipped``).

    A ``str``: it is stored, printed and compared as its value (``"other-audit-type"``).
    """

    AUSEARCH_LAYOUT = "ausearch-layout"
    MALFORMED_FIELDS = "malformed-fields"
    MALFORMED_JSON = "malformed-json"
    MALFORMED_NUMBER = "malformed-number"
    MALFORMED_RECORD = "malformed-record"
    MALFORMED_STAMP = "malformed-stamp"
    MALFORMED_STRING = "malformed-string"
    MESSAGE_NOT_SHOWN = "message-not-shown"
    MISSING_FIELD = "missing-field"
    NEGATIVE_NUMBER = "negative-number"
    NUL_BYTE = "nul-byte"
    NUMBER_OUT_OF_RANGE = "number-out-of-range"
    OTHER_AUDIT_TYPE = "other-audit-type"
    STRING_TOO_LONG = "string-too-long"
    TOO_LONG = "too-long"
    TRUNCATED = "truncated"
    UNKNOWN_ABI = "unknown-abi"
    UNKNOWN_SYSCALL_NAME = "unknown-syscall-name"
    WRONG_FORMAT = "wrong-format"


@dataclass(slots=True)
class ParseStats:
    """What a parser saw: lines read, records and losses found, lines skipped by reason.

    ``noise`` counts lines with nothing of interest; ``skipped`` the lines that looked like a record
    or a loss marker but were rejected, by reason. Every line lands in exactly one of
    ``records``, ``losses``, ``noise`` or ``skipped``.
    """

    lines: int = 0
    records: int = 0
    losses: int = 0
    skipped: dict[SkipReason, int] = field(default_factory=dict)
    noise: int = 0
    # reason → the first line skipped for it (cut); not compared: the two hot loops count some skips in bulk
    examples: dict[SkipReason, str] = field(default_factory=dict, compare=False)

    def skip(self, reason: SkipReason, count: int = 1) -> None:
        """Count ``count`` lines skipped for ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    @property
    def skipped_total(self) -> int:
        """All skipped lines, whatever the reason."""
        return sum(self.skipped.values())
