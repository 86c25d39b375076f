"""`seccomp-gen learn` through real pipes: live durability, signals, crashes, concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seccomp_gen.sources import SourceKind
from seccomp_gen.store import Store
from tests._learn_support import counts, learn_command, record, state_ready, syslog, total, wait_for

DURABLE_WITHIN = 1.0


def _start(state: Path, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        learn_command(state, *args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert wait_for(lambda: state_ready(state), 15), "the learner never created its state"
    return proc


def _count_of(state: Path, number: int) -> int:
    return counts(state).get(("x86_64", number, False), 0)


def _send(proc: subprocess.Popen[bytes], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line.encode())
    proc.stdin.flush()


def test_each_record_is_durable_within_a_second_while_the_pipe_stays_open(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    proc = _start(state)
    try:
        for serial, number in enumerate([0, 1, 257, 59, 231], start=1):
            _send(proc, "noise line before\n" + syslog(record(number, serial=serial)))
            sent = time.monotonic()
            seen = wait_for(lambda n=number: _count_of(state, n) == 1, DURABLE_WITHIN)  # type: ignore[misc]
            assert seen, (
                f"syscall {number} not in the state {time.monotonic() - sent:.2f}s after it was written"
            )
        assert proc.poll() is None, "the learner must still be running: the pipe is open"
    finally:
        _, err = proc.communicate(timeout=15)  # closes stdin: end of input
    assert proc.returncode == 0, err
    assert b"5 records" in err
    assert b"5 new syscalls" in err


def test_a_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    proc = _start(state)
    line = syslog(record(0))
    _send(proc, line[:40])
    time.sleep(0.8)
    assert total(state) == 0
    _send(proc, line[40:])
    assert wait_for(lambda: total(state) == 1, DURABLE_WITHIN)
    proc.communicate(timeout=15)


@pytest.mark.parametrize(
    ("signum", "status"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT exits 130"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM exits 143"),
    ],
)
def test_signal_mid_stream_keeps_everything_read(tmp_path: Path, signum: int, status: int) -> None:
    state = tmp_path / "state.db"
    proc = _start(state)
    lines = "".join(syslog(record(n, serial=n + 1)) for n in range(40))
    _send(proc, lines)
    proc.send_signal(signum)  # the pipe stays open: only the signal ends the run
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == status, err
    assert total(state) == 40
    assert b"Traceback" not in err
    assert f"Stopped by {signal.Signals(signum).name}".encode() in err


def test_kill_9_mid_stream_leaves_a_valid_state_missing_at_most_the_last_second(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    proc = _start(state)
    sent: list[tuple[float, int]] = []
    start = time.monotonic()
    serial = 0
    while time.monotonic() - start < 2.0:
        serial += 1
        _send(proc, syslog(record(serial % 300, serial=serial)))
        sent.append((time.monotonic(), serial))
        time.sleep(0.002)
    proc.kill()
    killed = time.monotonic()
    proc.communicate(timeout=15)
    with Store.open(state, readonly=True) as store:
        learned = sum(o.count for o in store.observations())
    old_enough = sum(1 for when, _ in sent if killed - when > DURABLE_WITHIN)
    assert old_enough <= learned <= len(sent)
    with Store.open(state) as store:  # and it opens for writing, too
        assert store.observations()


def test_two_concurrent_learners_both_succeed(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    files = []
    for base in (0, 1):
        path = tmp_path / f"log{base}"
        path.write_text("".join(syslog(record(n % 200, serial=base * 100_000 + n)) for n in range(15_000)))
        files.append(path)
    procs = [
        subprocess.Popen(learn_command(state, str(f)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for f in files
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert total(state) == 30_000


def test_eof_flushes_and_prints_one_paragraph(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    done = subprocess.run(
        learn_command(state), input=syslog(record(2)).encode(), capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 0
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines  # quiet in a pipe: just the summary
    assert "open (x86_64)" in lines[0]
    assert total(state) == 1


def test_pipe_stays_responsive_when_the_writer_is_slow(tmp_path: Path) -> None:
    """``tail -f log | seccomp-gen learn``: the real thing, with tail as the writer."""
    state = tmp_path / "state.db"
    log = tmp_path / "syslog"
    log.write_text(syslog(record(0, serial=1)))
    tail = subprocess.Popen(["tail", "-n", "+1", "-f", str(log)], stdout=subprocess.PIPE)
    assert tail.stdout is not None
    learner = subprocess.Popen(learn_command(state), stdin=tail.stdout, stderr=subprocess.PIPE)
    tail.stdout.close()
    try:
        assert wait_for(lambda: total(state) == 1, 15)
        with log.open("a") as fh:
            fh.write(syslog(record(1, serial=2)))
        assert wait_for(lambda: total(state) == 2, DURABLE_WITHIN + 1.0)  # tail -f polls once a second
    finally:
        os.kill(tail.pid, signal.SIGTERM)
        tail.wait(timeout=10)
        _, err = learner.communicate(timeout=15)
    assert learner.returncode == 0, err


FOLLOW_WITHIN = 2.0  # followed files are polled every 0.25 s, and the batch is written 0.5 s later


def _append(path: Path, *lines: str) -> None:
    with path.open("a") as fh:
        fh.writelines(lines)


def test_follow_reads_a_growing_file_through_rotation_and_truncation(tmp_path: Path) -> None:
    """``learn --follow FILE`` is ``tail -F``: growth, rename-and-recreate and copytruncate are all read."""
    state = tmp_path / "state.db"
    log = tmp_path / "syslog"
    _append(log, syslog(record(0, serial=0)))
    proc = subprocess.Popen(learn_command(state, "--follow", str(log)), stderr=subprocess.PIPE)
    numbers: set[int] = set()

    def learned(*new: int) -> None:
        numbers.update(new)
        expected = {("x86_64", n, False): 1 for n in numbers}
        assert wait_for(lambda: counts(state) == expected, FOLLOW_WITHIN), (counts(state), expected)

    try:
        assert wait_for(lambda: state_ready(state), 15)
        learned(0)
        second = syslog(record(2, serial=0))
        _append(log, syslog(record(1, serial=0)), second[:50])  # a record cut mid-line ...
        learned(1)
        _append(log, second[50:])  # ... is read once its newline is there
        learned(2)
        _append(log, syslog(record(3, serial=0)))  # written just before rotation ...
        log.rename(tmp_path / "syslog.1")
        learned(3)  # ... is read from the renamed file
        time.sleep(0.6)  # a while with no file at the path
        _append(log, syslog(record(4, serial=0)), syslog(record(5, serial=0)))
        learned(4, 5)
        log.write_text(syslog(record(6, serial=0)))  # copytruncate: the same inode, shorter
        learned(6)
        _append(log, syslog(record(7, serial=0)))
        learned(7)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    with Store.open(state, readonly=True) as store:
        [position] = store.positions(SourceKind.FILE)
        skipped = store.counters()
    assert (position.inode, position.offset) == (log.stat().st_ino, log.stat().st_size)
    assert not any(kind == "skipped" for kind, _ in skipped)  # the cut record was not taken for garbage
    # The next run resumes at the saved position: nothing is read twice.
    done = subprocess.run(learn_command(state, str(log)), capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert counts(state) == {("x86_64", n, False): 1 for n in range(8)}


def test_processes_creating_one_new_state_at_once_all_succeed(tmp_path: Path) -> None:
    """Openers of a new state race its creation and migration; each waits for the others, none sees a
    half-made file (which once read as "not a seccomp-gen state" or "database is locked")."""
    opener = (
        "import sys; from pathlib import Path; from seccomp_gen.store import Store; "
        "Store.open(Path(sys.argv[1])).close()"
    )
    for round_ in range(24):
        state = tmp_path / f"state{round_}.db"
        procs = [
            subprocess.Popen([sys.executable, "-c", opener, str(state)], stderr=subprocess.PIPE)
            for _ in range(6)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
