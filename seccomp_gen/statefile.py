"""The state's file: where and how it is opened. Another user's file, one others can write, a
directory others can swap it in, a read-only filesystem: each is judged here before SQLite opens it,
and a new state is created private to its owner. ``seccomp_gen.store`` keeps what is in it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from seccomp_gen.errors import StateError

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """A connection to the state at ``path``, after its file and directories were judged safe to use;
    ``readonly``: one that refuses writes (and creates nothing)."""
    _check_access(path, readonly=readonly)
    if readonly:
        if not path.exists():
            raise sqlite3.OperationalError("no such file (nothing has been learned yet)")
        # A read-write connection that refuses writes: as the last one to close it removes the WAL's
        # -wal and -shm files, which a mode=ro reader would leave behind. mode=ro only when the file
        # cannot be written.
        writable_dir = os.access(path.parent, os.W_OK) and not _read_only_fs(path.parent)
        mode = "rw" if os.access(path, os.W_OK) and writable_dir else "ro"
        uri = f"file:{_uri_path(path)}?mode={mode}"
        if not writable_dir and not Path(f"{path}-wal").exists():
            # A WAL database needs its -shm file, which nobody can create in this directory; without
            # a -wal file nobody is writing it either (a writer would need the same directory), so
            # it is read as an immutable file.
            uri += "&immutable=1"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        connection.execute("PRAGMA query_only=ON")
    else:
        _create_private(path)
        connection = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def _check_access(path: Path, *, readonly: bool) -> None:
    """Say what is wrong with an existing path in words (SQLite says "unable to open database file"),
    and refuse a state this user should not trust, as ssh's StrictModes does.

    A state decides what a profile allows, so whoever can write it can widen every profile made from
    it: the file must be a regular file, not reached through a symlink, not writable by group or
    others, and owned by this user (for reading, root's own states are accepted too).
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:  # EACCES: a directory on the way this user may not enter
        raise sqlite3.OperationalError(f"cannot reach it: {(exc.strerror or str(exc)).lower()}") from None
    if stat.S_ISDIR(st.st_mode):
        raise sqlite3.OperationalError("it is a directory")
    if stat.S_ISLNK(st.st_mode):
        raise StateError(f"state {str(path)!r} is a symbolic link: name the file it points at")
    if not stat.S_ISREG(st.st_mode):
        raise StateError(f"state {str(path)!r} is not a regular file (a device, FIFO or socket)")
    _check_owner(path, st, readonly=readonly)
    if not os.access(path, os.R_OK):
        raise sqlite3.OperationalError("permission denied (this user cannot read it)")


def _check_owner(path: Path, st: os.stat_result, *, readonly: bool) -> None:
    me = os.geteuid()
    trusted_owners = {me, 0} if readonly else {me}
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid in trusted_owners and not mode & (stat.S_IWGRP | stat.S_IWOTH):
        return
    why = "writable by group or others" if mode & (stat.S_IWGRP | stat.S_IWOTH) else "owned by another user"
    raise StateError(
        f"refusing state {str(path)!r}: {why} (owner uid {st.st_uid}, mode {mode:04o}; this user is uid "
        f"{me}): anyone who can write it decides what profiles allow. Use a state of your own, or "
        f"chown/chmod go-w it if it is yours"
    )


def _read_only_fs(directory: Path) -> bool:
    """The directory's file system is mounted read-only (``os.access`` says writable to root)."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path.resolve()))


def _create_private(path: Path) -> None:
    """Create the missing directories (mode 0700) and the file (mode 0600) if they do not exist yet.

    Called after ``_check_access``, which has refused a path that is a directory.
    """
    parent = path.parent
    if not parent.exists():
        # Every directory created on the way is private (mkdir's mode only reaches the last one): the
        # XDG base directory spec asks 0700 of $XDG_STATE_HOME, and a state reveals what ran here.
        missing = [d for d in (parent, *parent.parents) if not d.exists()]
        try:
            for directory in reversed(missing):
                try:
                    directory.mkdir(mode=0o700)
                except FileExistsError:
                    continue  # another learner made it meanwhile
                directory.chmod(0o700)  # mkdir's mode passes through the umask
        except OSError as exc:
            raise sqlite3.OperationalError(
                f"cannot create directory {str(parent)!r}: {exc.strerror}"
            ) from None
    if _read_only_fs(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise sqlite3.OperationalError(
            f"its directory {str(parent)!r} is read-only (learning writes a journal file beside the "
            "state); use a writable --state, or read it with status/emit"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise sqlite3.OperationalError(
            "permission denied (this user cannot write it; status and emit can still read it)"
        )
    if not path.exists():
        try:  # O_EXCL and O_NOFOLLOW: a file or link planted meanwhile is never adopted
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        except FileExistsError:
            _check_access(path, readonly=False)  # another learner made it meanwhile: judged like any
        except OSError as exc:
            raise sqlite3.OperationalError(exc.strerror or str(exc)) from None


def describe(exc: sqlite3.Error) -> str:
    """SQLite's error in a user's words."""
    text = str(exc)
    if "file is not a database" in text or "malformed" in text:
        return f"{text} (the file is corrupt or not a seccomp-gen state)"
    if "readonly" in text or "unable to open" in text:
        return f"{text} (check the permissions of the file and its directory)"
    if "full" in text:
        return f"{text} (free some space on its file system; what was learned before is kept)"
    return text
