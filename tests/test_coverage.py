"""Issue 13, items 5 and 6: "is learning done?" in status and emit, and a calm strict flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_gen.coverage import HIGH_ESTIMATE, Coverage
from seccomp_gen.store import Store
from seccomp_gen.summary import SHOWN_ROWS, coverage_of
from tests.test_emit import make_state, run
from tests.test_profile import obs

T0 = 1_800_000_000.0


def test_good_turing_is_the_share_of_records_of_syscalls_seen_once() -> None:
    coverage = Coverage(
        records=200, syscalls=10, seen_once=3, first_seen=T0, last_seen=T0 + 100, last_new=T0 + 5
    )
    assert coverage.unseen_estimate == pytest.approx(3 / 200)
    assert coverage.late_share() == pytest.approx(0.05)
    (reason,) = coverage.not_done()  # 1.5 % > 1 %: high; the last new syscall came early: not late
    assert "3 of 10 syscalls were seen only once in 200 records" in reason
    assert "1.5 %" in reason
    assert coverage.to_json()["estimated_chance_next_record_is_new"] == pytest.approx(0.015)


@pytest.mark.parametrize(
    ("coverage", "reasons"),
    [
        pytest.param(Coverage(500, 20, 0, T0, T0 + 60, T0 + 10), 0, id="done"),
        pytest.param(Coverage(500, 20, 0, T0, T0 + 60, T0 + 59), 1, id="new-call-at-the-end"),
        pytest.param(Coverage(50, 20, 5, T0, T0 + 60, T0 + 59), 2, id="both"),
        pytest.param(Coverage(500, 20, 0, T0, T0, T0), 0, id="no-span-no-lateness"),
    ],
)
def test_not_done_says_why(coverage: Coverage, reasons: int) -> None:
    assert len(coverage.not_done()) == reasons


def _state(path: Path, *, repeats: int, late: bool) -> Path:
    """read/write/openat by app, each seen ``repeats`` times; a last new call early or at the end."""
    seen = [
        obs("x86_64", number, name, count=repeats, first_seen=T0 + index, last_seen=T0 + 100)
        for index, (number, name) in enumerate(((0, "read"), (1, "write"), (257, "openat")))
    ]
    seen.append(
        obs(
            "x86_64",
            231,
            "exit_group",
            count=repeats,
            first_seen=T0 + (99 if late else 2),
            last_seen=T0 + 100,
        )
    )
    return make_state(path, seen)


def test_status_reports_coverage_overall_and_per_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = _state(tmp_path / "s.db", repeats=1, late=True)
    code, out, _ = run(capsys, "status", "--state", str(state))
    assert code == 0
    assert "learning: 4 records, 4 syscalls (4 seen only once), last new syscall" in out
    assert (
        "estimated chance that the next record brings a new syscall: 100.0 % (Good-Turing, an estimate)"
        in out
    )
    assert "not done? the last new syscall came in the last" in out
    assert "app              /bin/app  4 syscalls, 4 records; estimate 100.0 %, last new" in out
    code, out, _ = run(capsys, "status", "--state", str(state), "--json")
    doc = json.loads(out)
    assert doc["coverage"] == {
        "records": 4,
        "syscalls": 4,
        "syscalls_seen_once": 4,
        "last_new_syscall": T0 + 99,
        "estimated_chance_next_record_is_new": 1.0,
    }
    assert doc["processes"][0]["comm"] == "app"
    assert doc["processes"][0]["estimated_chance_next_record_is_new"] == 1.0


def test_emit_warns_while_learning_looks_unfinished_and_strict_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    once = _state(tmp_path / "once.db", repeats=1, late=False)
    code, _, err = run(capsys, "emit", "--state", str(once), "--strict")
    assert code == 1
    assert "warning: learning may not be done: 4 of 4 syscalls were seen only once in 4 records" in err
    late = _state(tmp_path / "late.db", repeats=5, late=True)
    code, _, err = run(capsys, "emit", "--state", str(late), "--strict")
    assert code == 1
    assert "warning: learning may not be done: the last new syscall came in the last" in err
    done = _state(tmp_path / "done.db", repeats=5, late=False)
    code, _, err = run(capsys, "emit", "--state", str(done), "--strict")
    assert code == 0, err
    assert "learning may not be done" not in err


def test_the_estimate_falls_as_the_same_run_is_learned_again(tmp_path: Path) -> None:
    """Good-Turing's n1/N: a second identical run leaves no syscall seen once."""
    first = coverage_of_state(_state(tmp_path / "a.db", repeats=1, late=False))
    again = coverage_of_state(_state(tmp_path / "b.db", repeats=2, late=False))
    assert first.unseen_estimate > HIGH_ESTIMATE >= again.unseen_estimate == 0


def coverage_of_state(path: Path) -> Coverage:
    with Store.open(path, readonly=True) as store:
        return coverage_of(store)


def test_status_lists_at_most_the_cap_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    many = [obs("x86_64", 0, "read", comm=f"p{i}", exe=f"/bin/p{i}", count=2) for i in range(SHOWN_ROWS + 25)]
    state = make_state(tmp_path / "many.db", many)
    code, out, _ = run(capsys, "status", "--state", str(state))
    assert code == 0
    assert f"... and 25 more processes (status --json lists the same {SHOWN_ROWS})" in out
    code, out, _ = run(capsys, "status", "--state", str(state), "--json")
    doc = json.loads(out)
    assert len(doc["processes"]) == SHOWN_ROWS
    assert doc["totals"]["processes"] == SHOWN_ROWS + 25


# --- item 6: observed calls Docker allows only for some arguments are notes -----------------------


def test_strict_passes_a_workload_that_forks_and_opens_sockets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = [
        obs("x86_64", number, name, count=4, first_seen=T0, last_seen=T0 + 60)
        for number, name in ((0, "read"), (1, "write"), (56, "clone"), (41, "socket"), (231, "exit_group"))
    ]
    state = make_state(tmp_path / "s.db", seen)
    code, _, err = run(capsys, "emit", "--state", str(state), "--trusted-only", "--strict", "--base", "none")
    assert code == 0, err
    assert "note: clone: observed; Docker's default profile allows it only conditionally" in err
    assert "note: socket: observed;" in err
    assert "warning" not in err


def test_an_observed_capability_call_stays_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = [
        obs("x86_64", number, name, count=4, first_seen=T0, last_seen=T0 + 60)
        for number, name in ((0, "read"), (165, "mount"), (308, "setns"))
    ]
    state = make_state(tmp_path / "s.db", seen)
    code, _, err = run(capsys, "emit", "--state", str(state), "--trusted-only", "--strict", "--base", "none")
    assert code == 1
    assert (
        "warning: mount: Docker's default profile allows it only conditionally (needs CAP_SYS_ADMIN)" in err
    )
    assert "warning: setns:" in err


def test_the_shipped_recording_gives_a_short_calm_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = Path(__file__).resolve().parent.parent / "examples" / "recording" / "busybox-http.kmsg"
    state = tmp_path / "example.db"
    assert run(capsys, "learn", "--state", str(state), str(recording))[0] == 0
    code, _, err = run(capsys, "emit", "--state", str(state), "--arch", "x86_64", "--base", "runc@1.1.5")
    assert code == 0
    lines = err.splitlines()
    assert len(lines) <= 6, err
    warnings = [line for line in lines if line.startswith("warning:")]
    # what rests on a file anyone could write, and that one recording is one run: nothing else
    assert len(warnings) == 2, err
    assert warnings[0].startswith("warning: every call (52 names) was seen only in lines any local user")
    assert warnings[1].startswith("warning: learning may not be done: ")
    assert all(len(line) < 400 for line in lines)
