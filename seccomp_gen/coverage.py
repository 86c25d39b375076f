"""Is learning done? What a state's counts say about the syscalls it has not seen yet.

A workload's calls are a sample; the question is how likely the next record is to bring a syscall the
state does not have. Good-Turing answers it from the counts alone: the chance that the next record is
of an unseen kind is estimated by the share of records whose kind was seen exactly once (``n1 / N``).
It is an estimate, and it says nothing about code paths the workload never took while learning (an
error handler, a monthly job); so is the second sign, how late in the learning the last new syscall
came. Both are reported overall and per process, and ``emit`` warns when either says "not done".
"""

from __future__ import annotations

from dataclasses import dataclass

# emit warns when the estimated chance that the next record is of an unseen syscall is above this ...
HIGH_ESTIMATE = 0.01
# ... or when the last new syscall came in the last tenth of the time the records span.
LATE_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class Coverage:
    """Counts of one scope (the whole state, or one process) that judge whether learning is done."""

    records: int
    syscalls: int  # distinct (ABI, number)
    seen_once: int  # syscalls with exactly one record
    first_seen: float | None  # the first record
    last_seen: float | None  # the last record
    last_new: float | None  # when the syscall seen first most recently was first seen

    @property
    def unseen_estimate(self) -> float:
        """Good-Turing: the estimated chance that the next record is of a syscall not seen yet."""
        return self.seen_once / self.records if self.records else 1.0

    def late_share(self) -> float | None:
        """How far into the span of the records the last new syscall came, from 0 (at the start) to 1;
        None when the records span no time."""
        if self.first_seen is None or self.last_seen is None or self.last_new is None:
            return None
        span = self.last_seen - self.first_seen
        if span <= 0:
            return None  # one instant (or no times): nothing to tell early from late
        return min(max((self.last_new - self.first_seen) / span, 0.0), 1.0)

    def not_done(self) -> list[str]:
        """Why learning looks unfinished (empty: it does not)."""
        reasons = []
        if self.unseen_estimate > HIGH_ESTIMATE:
            reasons.append(
                f"{self.seen_once} of {self.syscalls} syscalls were seen only once in {self.records} "
                f"records: an estimated {percent(self.unseen_estimate)} chance that the next record "
                "brings a new one"
            )
        late = self.late_share()
        if late is not None and late > 1 - LATE_SHARE:
            reasons.append(f"the last new syscall came {_when_in_span(late)}")
        return reasons

    def to_json(self) -> dict[str, object]:
        """The figures, the estimate labelled as one."""
        return {
            "records": self.records,
            "syscalls": self.syscalls,
            "syscalls_seen_once": self.seen_once,
            "last_new_syscall": self.last_new,
            "estimated_chance_next_record_is_new": round(self.unseen_estimate, 6),
        }


def percent(share: float) -> str:
    """``0.0443`` → ``4.4 %``; small shares keep two significant digits."""
    value = share * 100
    return f"{value:.2g} %" if value < 1 else f"{value:.1f} %"


def _when_in_span(late: float) -> str:
    if late >= 1.0:
        return "with the last records (one recording shows one run, not every path)"
    return f"in the last {percent(1 - late)} of the time the records span"


__all__ = ["HIGH_ESTIMATE", "LATE_SHARE", "Coverage", "percent"]
