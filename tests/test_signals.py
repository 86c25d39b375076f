"""Signals end every command cleanly, through real subprocesses and real pipes.

A closed pipe (``seccomp-gen explain big.log | head``) exits 141 (128 + SIGPIPE) with nothing on
stderr; SIGINT exits 130 and SIGTERM 143 with at most one short line. ``learn``'s own handling
(saving what it read first) is tested in test_learn_live.py.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from seccomp_gen.observations import Aggregate, Batch, Observation
from seccomp_gen.store import Store
from tests._learn_support import record, syslog, wait_for

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
SMALL_PIPE = 4096
EXIT_SIGINT, EXIT_SIGPIPE, EXIT_SIGTERM = 130, 141, 143


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "seccomp_gen", *args]


@pytest.fixture(scope="module")
def big_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every x86_64 number 0-399 observed: a profile and a status far larger than a small pipe."""
    path = tmp_path_factory.mktemp("state") / "state.db"
    batch = Batch()
    for number in range(400):
        obs = Observation("x86_64", number, None, "app", "/usr/bin/app", "LOG", trusted=True, count=1)
        batch.aggregates[obs.key] = Aggregate(None, 1, 1.0, 2.0, 7)
    with Store.open(path) as store:
        store.write(batch)
    return path


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1 MB of records: many times what a pipe holds."""
    path = tmp_path_factory.mktemp("log") / "big.log"
    path.write_text("".join(syslog(record(n % 300, serial=n + 1)) for n in range(5_000)))
    return path


def _commands(big_state: Path, big_log: Path) -> dict[str, list[str]]:
    state = ["--state", str(big_state)]
    return {
        "explain": command("explain", str(big_log)),
        "explain --json": command("explain", "--json", str(big_log)),
        "emit": command("emit", *state, "--arch", "x86_64"),
        "status": command("status", *state),
        "syscalls --list": command("syscalls", "--arch", "x86_64", "--list"),
    }


NAMES = ["explain", "explain --json", "emit", "status", "syscalls --list"]


@pytest.fixture
def commands(big_state: Path, big_log: Path) -> dict[str, list[str]]:
    return _commands(big_state, big_log)


def _stderr_to_devnull(argv: list[str]) -> bytes:
    """What the command says on stderr when its output goes somewhere that reads everything."""
    with Path(os.devnull).open("wb") as sink:
        done = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, timeout=60, check=True)
    return done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_reader_gone_before_the_first_write_exits_141_silently(
    commands: dict[str, list[str]], name: str
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write gets EPIPE
    try:
        done = subprocess.run(
            commands[name], check=False, stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_SIGPIPE, done.stderr
    assert done.stderr == _stderr_to_devnull(commands[name])  # nothing beyond the usual notes


def _start_into_a_small_pipe(argv: list[str]) -> tuple[int, subprocess.Popen[bytes]]:
    """Run ``argv`` writing into a pipe of one page, which every output here overflows."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, SMALL_PIPE)  # before the child exists: it cannot have written
    try:
        proc = subprocess.Popen(argv, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    return read_end, proc


def _read_one_line(fd: int) -> bytes:
    """Read byte by byte up to the first newline, as a reader that wants one line and then leaves."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        assert byte, f"the output ended before a whole line: {line!r}"
        line += byte
    return line


@pytest.mark.parametrize("name", NAMES)
def test_reader_leaving_after_one_line_ends_the_writer_with_141(
    commands: dict[str, list[str]], name: str
) -> None:
    read_end, writer = _start_into_a_small_pipe(commands[name])
    assert _read_one_line(read_end)
    os.close(read_end)
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == EXIT_SIGPIPE, err
    assert err == _stderr_to_devnull(commands[name])


@pytest.mark.parametrize("flags", [pytest.param([], id="text"), pytest.param(["--json"], id="json")])
def test_explain_big_log_into_head(big_log: Path, flags: list[str]) -> None:
    """The issue's own example: ``seccomp-gen explain big.log | head``."""
    script = '"$@" | head; echo "status=${PIPESTATUS[0]}"'
    argv = command("explain", *flags, str(big_log))
    pipeline = subprocess.run(
        ["bash", "-c", script, "bash", *argv], capture_output=True, timeout=60, check=True
    )
    *lines, status = pipeline.stdout.decode().splitlines()
    assert len(lines) == 10
    assert status == f"status={EXIT_SIGPIPE}"
    assert pipeline.stderr == b""


@pytest.fixture
def slow_explain() -> Iterator[subprocess.Popen[bytes]]:
    """``explain`` reading stdin fed by hand: it has printed one record and waits for more."""
    proc = subprocess.Popen(
        command("explain"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(syslog(record(59)).encode())
    proc.stdin.flush()
    assert b" execve " in proc.stdout.readline()  # it decoded the line: it is inside its read loop
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("signum", "status", "message"),
    [
        pytest.param(signal.SIGINT, EXIT_SIGINT, b"interrupted\n", id="SIGINT exits 130"),
        pytest.param(signal.SIGTERM, EXIT_SIGTERM, b"terminated\n", id="SIGTERM exits 143"),
    ],
)
def test_signal_while_explain_waits_for_stdin(
    slow_explain: subprocess.Popen[bytes], signum: int, status: int, message: bytes
) -> None:
    slow_explain.send_signal(signum)  # stdin stays open: only the signal can end the run
    _, err = slow_explain.communicate(timeout=15)
    assert (slow_explain.returncode, err) == (status, message)


def test_end_of_input_after_a_slow_stdin_is_a_normal_exit(slow_explain: subprocess.Popen[bytes]) -> None:
    _, err = slow_explain.communicate(timeout=15)
    assert (slow_explain.returncode, err) == (0, b"")


def test_an_ignored_sigterm_stays_ignored() -> None:
    """Under ``nohup``-like parents (SIGTERM ignored on purpose) the tool does not take it back."""
    proc = subprocess.Popen(
        command("explain"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),  # noqa: PLW1509 - no threads here
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(syslog(record(59)).encode())
    proc.stdin.flush()
    assert b" execve " in proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    proc.stdin.write(syslog(record(0)).encode())
    proc.stdin.flush()
    assert b" read " in proc.stdout.readline()  # still running after the SIGTERM
    _, err = proc.communicate(timeout=15)
    assert (proc.returncode, err) == (0, b"")


def _bytes_waiting(fd: int) -> int:
    size = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, size)
    return int.from_bytes(size, sys.byteorder)


@pytest.mark.parametrize(
    ("signum", "status", "message"),
    [
        pytest.param(signal.SIGINT, EXIT_SIGINT, b"interrupted\n", id="SIGINT exits 130"),
        pytest.param(signal.SIGTERM, EXIT_SIGTERM, b"terminated\n", id="SIGTERM exits 143"),
    ],
)
def test_signal_while_emit_is_blocked_on_a_full_pipe(
    big_state: Path, signum: int, status: int, message: bytes
) -> None:
    argv = command("emit", "--state", str(big_state), "--arch", "x86_64")
    usual = _stderr_to_devnull(argv)
    read_end, proc = _start_into_a_small_pipe(argv)
    try:
        assert wait_for(lambda: _bytes_waiting(read_end) >= SMALL_PIPE, 30), "emit never filled the pipe"
        assert proc.poll() is None, "emit must be blocked writing the rest"
        proc.send_signal(signum)
        while os.read(read_end, 65536):  # the reader stays: the interpreter's last flush completes
            pass
        _, err = proc.communicate(timeout=15)
    finally:
        os.close(read_end)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, err
    assert err == usual + message
