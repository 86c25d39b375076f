"""Hardening II, item 5: a half-written last line is left for the next run, not lost.

rsyslog writes a line in more than one write now and then; a periodic ``learn /var/log/syslog`` that
consumed the unterminated tail counted it ``skipped truncated`` and read its end as noise next time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_gen.cli import main
from seccomp_gen.sources import looks_complete
from tests._learn_support import counts, record, syslog


def test_unterminated_last_line_of_a_live_log_is_read_whole_next_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, state = tmp_path / "syslog", tmp_path / "state.db"
    whole, cut = syslog(record(0, serial=1)), syslog(record(1, serial=2))
    log.write_text(whole + cut[:60])  # rsyslog is half-way through the second line
    assert main(["learn", "--state", str(state), str(log)]) == 0
    assert counts(state) == {("x86_64", 0, False): 1}
    with log.open("a") as handle:
        handle.write(cut[60:])  # the rest arrives
    assert main(["learn", "--state", str(state), str(log)]) == 0
    err = capsys.readouterr().err
    assert "truncated" not in err
    assert counts(state) == {("x86_64", 0, False): 1, ("x86_64", 1, False): 1}


def test_rotated_file_is_complete_and_read_to_its_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, state = tmp_path / "syslog.1", tmp_path / "state.db"
    log.write_text(syslog(record(0, serial=1)) + syslog(record(1, serial=2)).rstrip("\n"))
    assert main(["learn", "--state", str(state), str(log)]) == 0
    assert counts(state) == {("x86_64", 0, False): 1, ("x86_64", 1, False): 1}


@pytest.mark.parametrize(
    ("name", "complete"),
    [
        pytest.param("syslog", False, id="live"),
        pytest.param("kern.log", False, id="live-dotted"),
        pytest.param("syslog.1", True, id="rotated-number"),
        pytest.param("messages-20261201", True, id="rotated-date"),
        pytest.param("audit.log.12", True, id="rotated-auditd"),
    ],
)
def test_which_names_are_rotated_files(name: str, complete: bool) -> None:
    assert looks_complete(Path(name)) == complete
