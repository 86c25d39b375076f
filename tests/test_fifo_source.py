"""Hardening II, item 7: ``learn FIFO`` reads a named pipe as a stream and still hears SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from tests._learn_support import counts, learn_command, record, syslog, wait_for


@contextlib.contextmanager
def _learning(fifo: Path, state: Path) -> Iterator[subprocess.Popen[str]]:
    """``learn FIFO`` in a child, its state created (so it is at or past opening the FIFO); killed if left."""
    os.mkfifo(fifo)
    proc = subprocess.Popen(learn_command(state, str(fifo)), stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(state.exists, 20)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_fifo_without_a_writer_stops_on_sigterm(tmp_path: Path) -> None:
    with _learning(tmp_path / "fifo", tmp_path / "state.db") as proc:
        threading.Event().wait(0.5)  # well inside its wait for a writer
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    assert "Traceback" not in err


def test_fifo_is_read_to_its_writers_end(tmp_path: Path) -> None:
    fifo, state = tmp_path / "fifo", tmp_path / "state.db"
    with _learning(fifo, state) as proc:
        with fifo.open("w") as writer:  # the writer comes after learn started waiting
            writer.write(syslog(record(0, serial=1)) + syslog(record(1, serial=2)))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert counts(state) == {("x86_64", 0, False): 1, ("x86_64", 1, False): 1}
