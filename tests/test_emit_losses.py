"""Issue 13, item 4: a state with losses makes emit and merge say so (and --strict fail)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from tests._learn_support import record, syslog

MARKER = "2026-11-28T17:48:12.795875+00:00 vm kernel: kauditd_printk_skb: 17 callbacks suppressed\n"


@pytest.fixture
def lossy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    log, state = tmp_path / "syslog", tmp_path / "lossy.db"
    log.write_text(syslog(record(0, serial=1)) + MARKER + syslog(record(1, serial=2)))
    assert main(["learn", "--state", str(state), str(log)]) == 0
    capsys.readouterr()
    return state


@pytest.fixture
def clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    log, state = tmp_path / "clean.log", tmp_path / "clean.db"
    log.write_text(syslog(record(0, serial=3)))
    assert main(["learn", "--state", str(state), str(log)]) == 0
    capsys.readouterr()
    return state


def _loss_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "records were lost" in line]


def test_emit_warns_with_count_time_and_a_fix(lossy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emit", "--state", str(lossy), "--arch", "x86_64"]) == 0
    out, err = capsys.readouterr()
    assert '"read"' in out
    [line] = _loss_lines(err)
    assert line.startswith("warning: the profile may miss calls: 17 records were lost (printk-suppressed")
    assert "2026-11-28 17:48:12Z" in line
    assert "sysctl -w kernel.printk_ratelimit=0" in line


def _strict_warnings(capsys: pytest.CaptureFixture[str], state: Path) -> int:
    assert main(["emit", "--state", str(state), "--arch", "x86_64", "--strict", "--enosys", "none"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    return int(err.splitlines()[-1].removeprefix("error: ").split(" ")[0])


def test_emit_strict_counts_each_loss_as_a_warning(
    lossy: Path, clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both states are syslog text, so both have the untrusted-only warning; the lossy one has one more.
    assert _strict_warnings(capsys, lossy) == _strict_warnings(capsys, clean) + 1


def test_merge_says_the_losses_of_each_state(
    lossy: Path, clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["merge", str(lossy), str(clean), "--arch", "x86_64"]) == 0
    lines = _loss_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert str(lossy) in lines[0]


def _counts_in(text: str, kind: str) -> list[int]:
    """Every count a line of ``text`` gives for ``kind`` (the warning, summary, status and emit forms)."""
    patterns = (
        rf"(\d+) records lost \({kind}\) in \S+ so far",
        rf"(\d+) {kind} in ",
        rf"{kind} in \S+: (\d+) records lost",
        rf"(\d+) records were lost \({kind},",
    )
    return [int(found) for pattern in patterns for found in re.findall(pattern, text)]


def test_learn_summary_status_and_emit_give_one_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two printk markers add up (55 + 19); two audit_lost markers are the kernel's running total (5, then
    9: 9 lost). The summary, status and emit say 74 and 9; the early warning says it is a first count."""
    log, state = tmp_path / "syslog", tmp_path / "state.db"
    lines = [
        syslog(record(0, serial=1)),
        syslog("kauditd_printk_skb: 55 callbacks suppressed"),
        syslog("audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64"),
        syslog(record(1, serial=2)),
        syslog("kauditd_printk_skb: 19 callbacks suppressed"),
        syslog("audit: audit_lost=9 audit_rate_limit=0 audit_backlog_limit=64"),
    ]
    log.write_text("".join(lines))
    assert main(["learn", "--state", str(state), str(log)]) == 0
    learned = capsys.readouterr().err
    warning, summary = learned.splitlines()[:2], learned.splitlines()[-1]
    assert _counts_in("\n".join(warning), "printk-suppressed") == [55]
    assert _counts_in("\n".join(warning), "audit-lost") == [5]
    assert _counts_in(summary, "printk-suppressed") == [74]
    assert _counts_in(summary, "audit-lost") == [9]
    assert main(["status", "--state", str(state)]) == 0
    status = capsys.readouterr().out
    assert (_counts_in(status, "printk-suppressed"), _counts_in(status, "audit-lost")) == ([74], [9])
    assert main(["emit", "--state", str(state)]) == 0
    emitted = capsys.readouterr().err
    assert (_counts_in(emitted, "printk-suppressed"), _counts_in(emitted, "audit-lost")) == ([74], [9])
    # A later run that sees a larger running total raises it; the summary says what the state now holds.
    with log.open("a") as appended:
        appended.write(syslog("audit: audit_lost=12 audit_rate_limit=0 audit_backlog_limit=64"))
    assert main(["learn", "--state", str(state), str(log)]) == 0
    assert "12 audit-lost in" in capsys.readouterr().err
    assert main(["status", "--state", str(state)]) == 0
    assert _counts_in(capsys.readouterr().out, "audit-lost") == [12]
