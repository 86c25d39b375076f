"""Peak resident memory of a CLI run, measured without the test runner's own footprint.

``wait4`` on a child of pytest reports the larger of the child's peak and the runner's: at ``exec``
the kernel folds the high-water mark of the image being replaced (pytest's, shared through vfork or
copied through fork) into the child's ``maxrss``. After a few hundred tests pytest holds a few
hundred MB, which then looks like the CLI's memory. A small trampoline process starts the CLI
instead, so the image the CLI replaces is the trampoline's, and reports the CLI's peak on a pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

_TRAMPOLINE = """
import os, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
os.write(int(sys.argv[1]), str(peak).encode())
sys.exit(code if code >= 0 else 128 - code)
"""


class MeasuredRun:
    """A CLI process started through the trampoline; ``peak_kib()`` after it has ended."""

    def __init__(self, argv: list[str], **popen: Any) -> None:
        self._read, write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _TRAMPOLINE, str(write), *argv],
                pass_fds=(write,),
                **popen,
            )
        finally:
            os.close(write)

    def wait(self) -> int:
        return self.proc.wait()

    def peak_kib(self) -> int:
        """The CLI's own peak resident set in KiB (valid once the process has ended)."""
        with os.fdopen(self._read, "rb") as pipe:
            return int(pipe.read() or b"0")
