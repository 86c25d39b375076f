"""The parser's optional C accelerator, ``seccomp_gen._accel`` (built from ``_accel.c`` at install when a
C compiler and the Python headers are there; see ``hatch_build.py``).

Everything it does has a pure-Python equivalent that stays the reference: the tests run every parser
test with both. ``SECCOMP_GEN_PURE_PYTHON`` set to anything but ``""``/``0`` turns it off.
"""

from __future__ import annotations

import os
from types import ModuleType

PURE_PYTHON_ENV = "SECCOMP_GEN_PURE_PYTHON"


def pure_python_requested() -> bool:
    """Whether the environment asks for the pure-Python loops."""
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def load() -> ModuleType | None:
    """The compiled module, or None: not built, or turned off."""
    if pure_python_requested():
        return None
    try:
        from seccomp_gen import _accel
    except ImportError:
        return None
    return _accel


def tune_allocator() -> bool:
    """Make reading chunks cheaper for the rest of this process (the CLI calls it; True when done).

    Each chunk is a new block-sized bytes object. glibc hands a freed block of that size back to the
    system and faults the next one's pages in again one by one; told to serve such blocks from its heap
    and to keep up to 8 MiB of it free, it reuses them (measured: a third of the page faults of reading
    a log). Done through the C accelerator, on glibc; nothing otherwise.
    """
    module = load()
    return bool(module is not None and module.tune_allocator())
