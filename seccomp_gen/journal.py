"""Lines from journald: the kernel and audit transports through ``journalctl -o json``.

The position saved is journald's cursor of the last whole entry read; a run resumes after it.
"""

from __future__ import annotations

import contextlib
import re
import select
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from seccomp_gen.errors import SourceError
from seccomp_gen.sources import Chunk, Position, ReadControl, Source, SourceKind, read_fd

_CURSOR = re.compile(rb'"__CURSOR"\s*:\s*"([^"]*)"')


def machine_id() -> str:
    """This host's machine id (positions in the journal are per machine)."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            value = Path(path).read_text().strip()
            if value:
                return value
    return "unknown"


class JournalSource(Source):
    """The kernel and audit transports of journald, through ``journalctl -o json``."""

    kind = SourceKind.JOURNAL

    def __init__(
        self,
        *,
        cursor: str | None = None,
        follow: bool = False,
        since: float | None = None,
        until: float | None = None,
        program: str = "journalctl",
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.name = "journal"
        self.cursor = cursor
        self.follow = follow
        self.since = since
        self.until = until
        self.program = program
        self.extra_args = tuple(extra_args)
        self.key = f"journal:{machine_id()}"

    def command(self) -> list[str]:
        """The journalctl command line (resuming after the saved cursor)."""
        exe = shutil.which(self.program)
        if exe is None:
            raise SourceError(
                f"cannot read the journal: {self.program!r} not found (is this a systemd host? "
                "read /var/log/syslog or use --kmsg instead)"
            )
        args = [exe, "-o", "json", "--no-pager", "_TRANSPORT=kernel", "_TRANSPORT=audit"]
        if self.cursor:
            args.append(f"--after-cursor={self.cursor}")
        if self.since is not None and not self.cursor:
            args.append(f"--since=@{int(self.since)}")
        if self.until is not None:
            args.append(f"--until=@{int(self.until) + 1}")
        if self.follow:
            args += ["--follow", "--no-tail"]
        return args + list(self.extra_args)

    def position(self) -> Position:
        """The cursor reached."""
        return Position(SourceKind.JOURNAL, self.key, cursor=self.cursor)

    def chunks(self, ctl: ReadControl) -> Iterator[Chunk]:
        """Run journalctl and yield its lines as they come."""
        proc = subprocess.Popen(  # fixed arguments, no shell
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None
        out = proc.stdout.fileno()
        try:
            while not ctl.stop.is_set():
                ready, _, _ = select.select([out, ctl.stop.fileno()], [], [], ctl.timeout())
                if out not in ready:
                    yield Chunk(b"", self)
                    continue
                data = read_fd(out, "journalctl's output")
                if not data:
                    break
                lines = self.splitter.push(data)
                self._advance(lines)
                yield Chunk(lines, self, self.position())
            # Stopped: an entry journalctl was still printing is left for the next run (the cursor
            # stays at the last whole one), not cut and skipped past.
            last = b"" if ctl.stop.is_set() else self.splitter.finish()
            self._advance(last)
            yield Chunk(last, self, self.position())
        finally:
            stopped = ctl.stop.is_set()
            message = _end(proc)
        if not stopped and proc.returncode not in (0, None):
            raise SourceError(f"journalctl failed (exit {proc.returncode}): {message}")

    def _advance(self, lines: bytes) -> None:
        at = lines.rfind(b'"__CURSOR"')
        if at >= 0:
            match = _CURSOR.match(lines, at)
            if match:
                self.cursor = match.group(1).decode("utf-8", "replace")


def _end(proc: subprocess.Popen[bytes]) -> str:
    """Stop journalctl (if still running), close its pipes, return the last line of its stderr."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    text = ""
    if proc.stderr is not None:
        text = proc.stderr.read(65536).decode("utf-8", "replace").strip()
        proc.stderr.close()
    if proc.stdout is not None:
        proc.stdout.close()
    return text.splitlines()[-1] if text else "no message"
