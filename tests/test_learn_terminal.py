"""`learn` and `reset` on a real terminal (a pty): the live status line, one line per new syscall, the prompt.

The other feedback tests hand ``_Feedback`` a fake stream; these run the CLI as a user does, with its
stderr (and for ``reset`` its stdin) on a pseudo-terminal, and compare with the same run in a pipe.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import threading
import time
from pathlib import Path

from tests._learn_support import learn_command, record, state_ready, syslog, total, wait_for

LOSS = "kauditd_printk_skb: 12 callbacks suppressed"


def _journal(text: str, cursor: int) -> str:
    """A journald JSON entry of the kernel transport: trusted on stdin (``journalctl -o json |``)."""
    entry = {"MESSAGE": text, "_TRANSPORT": "kernel", "__CURSOR": f"s=1;i={cursor}"}
    return json.dumps(entry) + "\n"


class _Pty:
    """A pseudo-terminal whose output is collected by a thread until every writer closed it."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self._out = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the last writer closed the slave
                return
            if not data:
                return
            self._out += data

    def text(self) -> str:
        """What was written so far, newlines as the program wrote them (the pty adds a CR)."""
        return bytes(self._out).decode().replace("\r\n", "\n")

    def close_slave(self) -> None:
        """Our copy of the slave: close it once the child has its own."""
        os.close(self.slave)

    def finish(self) -> str:
        """Wait for the output to end and return it."""
        self._reader.join(timeout=15)
        os.close(self.master)
        return self.text()


def _screen(out: str) -> list[str]:
    """The lines a terminal keeps: a carriage return and ESC [ K (erase line) start a line over."""
    return [line.rsplit("\r", 1)[-1].replace("\x1b[K", "") for line in out.split("\n")[:-1]]


def test_terminal_shows_a_status_line_and_each_new_syscall_a_pipe_only_warnings_and_summary(
    tmp_path: Path,
) -> None:
    lines = [
        _journal(record(257, serial=1, comm="http-echo", exe="/usr/bin/http-echo"), 1),
        syslog(LOSS),
        _journal(record(0, serial=2, comm="http-echo", exe="/usr/bin/http-echo"), 2),
    ]
    state = tmp_path / "tty.db"
    term = _Pty()
    proc = subprocess.Popen(learn_command(state), stdin=subprocess.PIPE, stdout=term.slave, stderr=term.slave)
    term.close_slave()
    assert proc.stdin is not None
    try:
        assert wait_for(lambda: state_ready(state), 15)
        for n, line in enumerate(lines, start=1):
            proc.stdin.write(line.encode())
            proc.stdin.flush()
            if n != 2:
                assert wait_for(lambda n=n: total(state) == (n + 1) // 2, 2.0)  # type: ignore[misc]
        # The status line is redrawn at most five times a second: let the last batch's show.
        time.sleep(0.3)
    finally:
        proc.stdin.close()
        proc.wait(timeout=15)
    out = term.finish()
    assert proc.returncode == 0, out
    shown = _screen(out)
    assert "+ openat (x86_64) by http-echo" in shown  # trusted (journald's kernel transport): no mark
    assert "+ read (x86_64) by http-echo" in shown
    assert any(
        line.startswith(
            "warning: 12 records lost (printk-suppressed) in stdin so far "
            "(the summary at the end has the total): "
        )
        and "sysctl -w kernel.printk_ratelimit=0" in line
        for line in shown
    ), out
    status = re.findall(r"\r\x1b\[Krecords (\d+) · learned (\d+) · new syscalls (\d+) · lost (\d+)", out)
    assert status, out
    assert status[-1] == ("2", "2", "2", "12")
    assert out.endswith("\n")
    assert shown[-1].startswith("Read 3 lines from stdin: 2 records, 2 counted into ")  # status line gone
    assert "LOSSES: 12 printk-suppressed in stdin" in shown[-1]
    assert out.rsplit("\x1b[K", 1)[-1].count("\n") == 1  # the summary is one paragraph

    piped = subprocess.run(
        learn_command(tmp_path / "pipe.db"), input="".join(lines).encode(), capture_output=True, timeout=30,
        check=False,
    )  # fmt: skip
    err = piped.stderr.decode().splitlines()
    assert piped.returncode == 0, err
    assert len(err) == 2, err  # no status line, no "+" lines: the loss warning and the summary
    assert err[0].startswith("warning: 12 records lost (printk-suppressed) in stdin")
    assert err[1].startswith("Read 3 lines from stdin: 2 records")
    assert "\x1b" not in piped.stderr.decode()


def _reset_on_a_terminal(state: Path, answer: str) -> tuple[int, str]:
    term = _Pty()
    proc = subprocess.Popen(
        [*learn_command(state)[:3], "reset", "--state", str(state)],
        stdin=term.slave,
        stdout=term.slave,
        stderr=term.slave,
    )
    term.close_slave()
    assert wait_for(lambda: "Forget everything learned in" in term.text(), 15), term.text()
    os.write(term.master, answer.encode() + b"\n")
    status = proc.wait(timeout=15)
    return status, term.finish()


def test_reset_asks_on_a_terminal_and_only_yes_forgets(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    log = tmp_path / "syslog"
    log.write_text(syslog(record(0, serial=1)) + syslog(record(1, serial=2)))
    learned = subprocess.run(learn_command(state, str(log)), capture_output=True, timeout=30, check=False)
    assert learned.returncode == 0, learned.stderr
    assert total(state) == 2

    status, out = _reset_on_a_terminal(state, "n")
    assert status == 1, out
    assert f"Forget everything learned in {state}? [y/N]" in out
    assert "nothing changed" in out
    assert total(state) == 2

    status, out = _reset_on_a_terminal(state, "y")
    assert status == 0, out
    assert f"reset {state}" in out
    assert total(state) == 0
