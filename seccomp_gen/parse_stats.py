"""What a parser counts as it reads: one value type, shared by ``records`` and ``_fastpath``
(its own module so that neither imports the other for it)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    skipped: dict[str, int] = field(default_factory=dict)
    noise: int = 0
    # reason → the first line skipped for it (cut); not compared: the two hot loops count some skips in bulk
    examples: dict[str, str] = field(default_factory=dict, compare=False)

    def skip(self, reason: str, count: int = 1) -> None:
        """Count ``count`` lines skipped for ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    @property
    def skipped_total(self) -> int:
        """All skipped lines, whatever the reason."""
        return sum(self.skipped.values())
