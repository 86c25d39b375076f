"""Writing a result where the user pointed ``-o``: what the shell's ``>`` would do, but atomic for files.

=====================================  ==========================================================
target                                 what happens
=====================================  ==========================================================
``-``                                  the caller writes to stdout (``is_stdout``)
a new path, or a regular file          a temporary file beside it, fsync, rename; an existing
                                       file keeps its mode (a new one gets 0644: profiles are
                                       read by runtimes and the kubelet)
a symlink                              the link stays; what it points at is written, by the
                                       rules of this table (atomically beside a regular file)
a character device, FIFO, socket       written in place, never renamed over (``/dev/null``,
                                       ``/dev/stdout``, a pipe); a FIFO without a reader is an
                                       error, not a wait
``/dev/std*``, ``/dev/fd/N``,          the open descriptor itself, whatever it is
``/proc/self/fd/N``
a directory, a block device, a path    ``OutputError``, and nothing is created
that cannot be written
=====================================  ==========================================================

No temporary file is left behind, whatever stops the write (a full disk, SIGINT, SIGTERM).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

from seccomp_gen.errors import OutputError

STDOUT = "-"
_NEW_FILE_MODE = 0o644
_FD_NAME = re.compile(
    r"/dev/(?:std(?P<std>in|out|err)|fd/(?P<fd>\d+))|/proc/(?:self|thread-self)/fd/(?P<pfd>\d+)"
)
_STD_FDS = {"in": 0, "out": 1, "err": 2}


def is_stdout(target: str | Path) -> bool:
    """``-o -``: the caller prints the text itself."""
    return str(target) == STDOUT


def write_output(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` by the rules in this module's table. Raises ``OutputError``."""
    name = str(target)
    data = text.encode("utf-8")
    if (fd := _named_descriptor(name)) is not None:
        _write_descriptor(name, fd, data)
        return
    try:
        info = Path(name).stat()  # through a symlink: what is written is what the link points at
    except FileNotFoundError:
        _write_file(_real(name), data, mode=None)
        return
    except OSError as exc:
        raise _error(name, exc) from None
    if stat.S_ISREG(info.st_mode):
        _refuse_unwritable(name)
        _write_file(_real(name), data, mode=stat.S_IMODE(info.st_mode))
    elif stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        _write_in_place(name, data)
    elif stat.S_ISSOCK(info.st_mode):
        _write_socket(name, data)
    elif stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write {name!r}: it is a directory (name a file in it)")
    else:
        raise OutputError(f"cannot write {name!r}: it is a block device or another special file")


def check_output(target: str | Path) -> None:
    """Refuse now, before any work, a target that ``write_output`` would refuse later.

    A directory, a block device, a missing directory, a file or directory this user may not write:
    ``OutputError``. Creates nothing. (A full disk or a FIFO's reader can only be known when writing.)
    """
    name = str(target)
    if is_stdout(name) or _named_descriptor(name) is not None:
        return
    try:
        info = Path(name).stat()
    except FileNotFoundError:
        _check_directory(_real(name))
        return
    except OSError as exc:
        raise _error(name, exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write {name!r}: it is a directory (name a file in it)")
    if stat.S_ISBLK(info.st_mode):
        raise OutputError(f"cannot write {name!r}: it is a block device or another special file")
    if stat.S_ISREG(info.st_mode):
        _refuse_unwritable(name)
        _check_directory(_real(name))


def _check_directory(path: Path) -> None:
    directory = path.parent
    if not directory.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: no directory {str(directory)!r}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {str(path)!r}: permission denied in {str(directory)!r}")


def _named_descriptor(name: str) -> int | None:
    """The descriptor a name such as ``/dev/stdout`` or ``/proc/self/fd/3`` stands for."""
    match = _FD_NAME.fullmatch(name)
    if match is None:
        return None
    if match["std"]:
        return _STD_FDS[match["std"]]
    return int(match["fd"] or match["pfd"])


def _write_descriptor(name: str, fd: int, data: bytes) -> None:
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise _error(name, exc) from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_in_place(name: str, data: bytes) -> None:
    """A device or FIFO: opened for writing (no truncation, no rename); a FIFO must have a reader."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"cannot write {name!r}: a FIFO with no reader") from None
        raise _error(name, exc) from None
    try:
        os.set_blocking(fd, True)
        _write_all(fd, data)
    except OSError as exc:
        raise _error(name, exc) from None
    finally:
        os.close(fd)


def _write_socket(name: str, data: bytes) -> None:
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(name)
            sock.sendall(data)
    except OSError as exc:
        raise _error(name, exc) from None


def _real(name: str) -> Path:
    """Where a (possibly dangling) chain of symlinks ends: the file to replace, beside its real home."""
    return Path(os.path.realpath(name))


def _refuse_unwritable(name: str) -> None:
    if not os.access(name, os.W_OK):
        raise OutputError(f"cannot write {name!r}: permission denied")


def _write_file(path: Path, data: bytes, *, mode: int | None) -> None:
    """Temporary file in the same directory, fsync, rename over ``path``; never a temporary left."""
    _check_directory(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _error(str(path), exc) from None
    try:
        try:
            os.fchmod(fd, _NEW_FILE_MODE if mode is None else mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _error(str(path), exc) from None
    except BaseException:  # Ctrl-C or SIGTERM mid-write: leave no temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise


def _error(name: str, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {name!r}: {exc.strerror or exc}")
