"""``-o PATH``: a row of seccomp_gen/output.py's table per test, through the library and through the CLI."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from seccomp_gen.errors import OutputError
from seccomp_gen.output import write_output
from tests.realpath import need_program, need_root
from tests.test_bad_input_access import _as_a_user, _assert_one_error_line
from tests.test_emit import make_state, run
from tests.test_profile import fixed_observations


@pytest.fixture
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state in a directory of its own, so that the output directory holds only what a test writes."""
    return make_state(tmp_path_factory.mktemp("state") / "state.db", fixed_observations())


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path


def _emit(capsys: pytest.CaptureFixture[str], state: Path, target: str | Path) -> tuple[int, str, str]:
    return run(capsys, "emit", "--state", str(state), "--arch", "x86_64", "-o", str(target))


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _profile(capsys: pytest.CaptureFixture[str], state: Path) -> str:
    code, text, _ = run(capsys, "emit", "--state", str(state), "--arch", "x86_64")
    assert code == 0
    return text


# --- "-" and regular files ----------------------------------------------------------------------------


def test_dash_writes_to_stdout_and_creates_no_file(
    capsys: pytest.CaptureFixture[str], state: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(out)
    code, text, _ = _emit(capsys, state, "-")
    assert code == 0
    assert text == _profile(capsys, state)
    assert _names(out) == []


def test_new_file_is_written_whole_with_mode_0644(
    capsys: pytest.CaptureFixture[str], state: Path, out: Path
) -> None:
    target = out / "profile.json"
    assert _emit(capsys, state, target)[0] == 0
    assert target.read_text() == _profile(capsys, state)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert _names(out) == ["profile.json"]


def test_existing_file_is_replaced_and_keeps_its_mode(
    capsys: pytest.CaptureFixture[str], state: Path, out: Path
) -> None:
    target = out / "profile.json"
    target.write_text("old\n")
    target.chmod(0o600)
    inode = target.stat().st_ino
    assert _emit(capsys, state, target)[0] == 0
    assert target.read_text() == _profile(capsys, state)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != inode  # renamed over, not written in place: readers never see half
    assert _names(out) == ["profile.json"]


# --- symlinks -----------------------------------------------------------------------------------------


def test_symlink_is_kept_and_its_target_written_beside_the_target(tmp_path: Path) -> None:
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    (real_dir / "profile.json").write_text("old\n")
    (real_dir / "profile.json").chmod(0o640)
    link = link_dir / "current.json"
    link.symlink_to(real_dir / "profile.json")
    write_output(link, "new\n")
    assert link.is_symlink()
    assert (real_dir / "profile.json").read_text() == "new\n"
    assert stat.S_IMODE((real_dir / "profile.json").stat().st_mode) == 0o640
    assert _names(real_dir) == ["profile.json"]
    assert _names(link_dir) == ["current.json"]


def test_chain_of_relative_symlinks_ends_at_the_real_file(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("old\n")
    (tmp_path / "b.json").symlink_to("real.json")
    (tmp_path / "a.json").symlink_to("b.json")
    write_output(tmp_path / "a.json", "new\n")
    assert (tmp_path / "real.json").read_text() == "new\n"
    assert (tmp_path / "a.json").is_symlink()
    assert (tmp_path / "b.json").is_symlink()


def test_dangling_symlink_creates_what_it_points_at(tmp_path: Path) -> None:
    link = tmp_path / "current.json"
    link.symlink_to("profile.json")
    write_output(link, "new\n")
    assert link.is_symlink()
    assert (tmp_path / "profile.json").read_text() == "new\n"


# --- devices, FIFOs, sockets, descriptors ---------------------------------------------------------------


def test_character_device_is_written_in_place(tmp_path: Path) -> None:
    need_root()
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    write_output(device, "profile\n")
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert device.lstat().st_rdev == os.makedev(1, 3)
    assert _names(tmp_path) == ["null"]


def test_dev_null_stays_a_device(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    before = Path("/dev/null").lstat()
    assert _emit(capsys, state, "/dev/null")[0] == 0
    after = Path("/dev/null").lstat()
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _read_in_background(path: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with path.open("rb") as handle:
            got.append(handle.read())

    reader = threading.Thread(target=read)
    reader.start()
    return reader, got


def test_fifo_with_a_reader_is_written_in_place(fifo: Path) -> None:
    reader, got = _read_in_background(fifo)
    for _ in range(200):  # the reader's open() must come first, or the writer finds no reader
        try:
            write_output(fifo, "profile\n")
            break
        except OutputError:
            threading.Event().wait(0.01)
    reader.join(timeout=10)
    assert got == [b"profile\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_fifo_without_a_reader_is_an_error_not_a_stall(fifo: Path) -> None:
    with pytest.raises(OutputError, match="FIFO with no reader"):
        write_output(fifo, "profile\n")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[tuple[Path, list[bytes]]]:
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    got: list[bytes] = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
            got.append(b"".join(chunks))

    thread = threading.Thread(target=serve)
    thread.start()
    yield path, got
    thread.join(timeout=10)
    server.close()


def test_unix_socket_receives_the_text(listening: tuple[Path, list[bytes]]) -> None:
    path, got = listening
    write_output(path, "profile\n")
    threading.Event().wait(0)
    for _ in range(100):
        if got:
            break
        threading.Event().wait(0.01)
    assert got == [b"profile\n"]
    assert stat.S_ISSOCK(path.lstat().st_mode)


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_stdout_names_write_into_a_pipe(state: Path, tmp_path: Path, name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seccomp_gen", "emit", "--state", str(state), "--arch", "x86_64", "-o", name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert '"defaultAction": "SCMP_ACT_ERRNO"' in done.stdout
    assert _names(tmp_path) == []


# --- refusals: nothing is created --------------------------------------------------------------------


def test_directory_is_one_error_line_exit_2(
    capsys: pytest.CaptureFixture[str], state: Path, out: Path
) -> None:
    code, text, err = _emit(capsys, state, out)
    assert (code, text) == (2, "")
    assert err.splitlines() == [f"error: cannot write {str(out)!r}: it is a directory (name a file in it)"]
    assert _names(out) == []


def test_missing_directory_creates_nothing(
    capsys: pytest.CaptureFixture[str], state: Path, out: Path
) -> None:
    code, _, err = _emit(capsys, state, out / "missing" / "profile.json")
    assert code == 2
    assert err.startswith("error: cannot write")
    assert "no directory" in err
    assert _names(out) == []


def test_unwritable_file_and_directory_as_a_user(state: Path, tmp_path: Path) -> None:
    need_program("setpriv")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "profile.json").write_text("old\n")
    (locked / "profile.json").chmod(0o444)
    locked.chmod(0o555)
    state.parent.chmod(0o755)
    state.chmod(0o644)
    try:
        for target in (locked / "profile.json", locked / "new.json"):
            done = _as_a_user("emit", "--state", str(state), "--arch", "x86_64", "-o", str(target))
            _assert_one_error_line(done, "cannot write", str(target), "ermission denied")
        assert _names(locked) == ["profile.json"]
        assert (locked / "profile.json").read_text() == "old\n"
    finally:
        locked.chmod(0o755)


def test_block_device_is_refused(tmp_path: Path) -> None:
    need_root()
    device = tmp_path / "disk"
    os.mknod(device, 0o600 | stat.S_IFBLK, os.makedev(7, 200))  # a loop device number nobody uses
    with pytest.raises(OutputError, match="block device"):
        write_output(device, "profile\n")
    assert stat.S_ISBLK(device.lstat().st_mode)


# --- no temporary file left, whatever stops the write ------------------------------------------------------


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit], ids=["SIGINT", "SIGTERM-like exit"])
def test_stopped_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]
) -> None:
    target = tmp_path / "profile.json"
    target.write_text("old\n")

    def stopped(fd: int) -> None:
        raise stop

    monkeypatch.setattr(os, "fsync", stopped)
    with pytest.raises(stop):
        write_output(target, "new\n")
    assert _names(tmp_path) == ["profile.json"]
    assert target.read_text() == "old\n"


def test_sigterm_mid_write_through_the_cli_leaves_no_temporary(state: Path, tmp_path: Path) -> None:
    """A real SIGTERM while the CLI waits inside fsync (held there by a wrapper that blocks until killed)."""
    script = (
        "import os, sys, time\n"
        "def slow(fd):\n"
        "    open(sys.argv[1], 'w').close()\n"
        "    time.sleep(60)\n"
        "os.fsync = slow\n"
        "from seccomp_gen.cli import main\n"
        "sys.exit(main(sys.argv[2:]))\n"
    )
    ready = tmp_path / "in-fsync"
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "profile.json").write_text("old\n")
    args = ["emit", "--state", str(state), "--arch", "x86_64", "-o", str(outdir / "profile.json")]
    proc = subprocess.Popen([sys.executable, "-c", script, str(ready), *args], stderr=subprocess.DEVNULL)
    try:
        for _ in range(3000):
            if ready.exists() or proc.poll() is not None:
                break
            threading.Event().wait(0.01)
        assert ready.exists()
        assert len(_names(outdir)) == 2  # the temporary file is there while fsync runs
        proc.terminate()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143
    assert _names(outdir) == ["profile.json"]
    assert (outdir / "profile.json").read_text() == "old\n"


def test_full_disk_is_an_error_and_leaves_the_old_file(tmp_path: Path) -> None:
    need_root()
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        target = mount / "profile.json"
        target.write_text("old\n")
        with pytest.raises(OutputError, match="No space left on device"):
            write_output(target, "x" * (1 << 20))
        assert _names(mount) == ["profile.json"]
        assert target.read_text() == "old\n"
    finally:
        subprocess.run(["umount", str(mount)], check=True)
