"""Issue 14, item 6: a flood of forged processes cannot grow the state, or what reads it, without bound.

Any local user can write syslog lines naming a process of their choosing. Past a cap of distinct
untrusted (comm, exe) pairs, learn counts further ones under one "(over the cap)" process (their
syscalls still learned, untrusted), and explain --summary groups them the same way. The caps are
lowered here so that the test floods past them in a fraction of a second; bench/bench_memory.py floods
a million at the real caps and prints the peak memory of every command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_gen import explain, learner
from seccomp_gen.observations import OVER_CAP
from tests._learn_support import record, syslog
from tests.test_emit import run

CAP = 40


@pytest.fixture(autouse=True)
def small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learner, "UNTRUSTED_PROCESSES_MAX", CAP)
    monkeypatch.setattr(explain, "MAX_PROCESSES", CAP)


def _flood(path: Path, processes: int, *, first: int = 0, syscall: int = 0) -> Path:
    lines = [
        syslog(record(syscall, serial=first + i + 1, comm=f"forged{first + i}", exe=f"/tmp/f{first + i}"))
        for i in range(processes)
    ]
    path.write_text("".join(lines))
    return path


def test_learn_counts_processes_past_the_cap_under_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    log = _flood(tmp_path / "syslog", 300)
    code, _, err = run(capsys, "learn", "--state", str(state), str(log))
    assert code == 0
    assert "260 of untrusted processes past the state's cap on them (status --json: totals) counted as" in err
    doc = json.loads(run(capsys, "status", "--state", str(state), "--json")[1])
    assert doc["totals"]["processes"] == CAP + 1
    assert doc["coverage"]["records"] == 300  # nothing lost: every record is counted somewhere
    assert doc["counters"]["capped:untrusted-processes"] == 260
    over = [p for p in doc["processes"] if p["comm"] == OVER_CAP]
    assert [p["records"] for p in over] == [260]
    # A later flood does not add rows either: the state's own pairs count against the cap.
    more = _flood(tmp_path / "syslog.more", 100, first=1000, syscall=1)
    assert run(capsys, "learn", "--state", str(state), str(more))[0] == 0
    doc = json.loads(run(capsys, "status", "--state", str(state), "--json")[1])
    assert doc["totals"]["processes"] == CAP + 1
    # ... and the flood's new syscall is still learned (untrusted, as everything it brought)
    assert {(u["abi"], u["number"]) for u in doc["untrusted_only"]} == {("x86_64", 0), ("x86_64", 1)}


def test_explain_summary_groups_processes_past_the_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _flood(tmp_path / "syslog", 100)
    code, out, _ = run(capsys, "explain", "--summary", str(log))
    assert code == 0
    assert f"over the cap: 60 records of processes beyond the first {CAP} are grouped as {OVER_CAP!r}" in out
    assert out.count("forged") == CAP
    code, out, _ = run(capsys, "explain", "--summary", "--json", str(log))
    assert json.loads(out)["over_cap"] == 60
