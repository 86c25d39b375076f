"""Bad input files through the CLI (`learn` and `explain`): a clean skip, counted, or one `error:` line.

Each row first learns one good record, then feeds the bad input, then checks that the good record is
still in the state (``status --json`` and the database itself): nothing learned before is lost,
whatever the input. A bad *line* is skipped and counted under its reason (exit 0); a request that
cannot be done (a missing, unreadable or truncated file) is one ``error: ...`` line and exit 2.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import random
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from seccomp_gen.cli._learn import _Feedback
from seccomp_gen.feedback import NewSyscall
from tests._learn_support import counts, kmsg, record, syslog
from tests._rss import MeasuredRun
from tests.realpath import need_program

GOOD = ("x86_64", 0, False)  # read, learned from a syslog line before every bad input
BIG_LINE = 100 * 1024 * 1024
RSS_LIMIT_MB = 100


@pytest.fixture
def state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "state.db"
    good = tmp_path / "good.log"
    good.write_text(syslog(record(0, serial=1)))
    assert main(["learn", "--state", str(path), str(good)]) == 0
    assert counts(path) == {GOOD: 1}
    capsys.readouterr()
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _status(capsys: pytest.CaptureFixture[str], state: Path) -> dict[str, object]:
    code, out, _ = _run(capsys, "status", "--json", "--state", str(state))
    assert code == 0
    doc: dict[str, object] = json.loads(out)
    return doc


def _assert_kept(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    """The record learned before the bad input is still there, as status reports it."""
    assert counts(state).get(GOOD) == 1
    doc = _status(capsys, state)
    abis = doc["abis"]
    assert isinstance(abis, list)
    assert any(a["abi"] == "x86_64" and a["records"] >= 1 for a in abis)


def _assert_one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], err


def _skipped(capsys: pytest.CaptureFixture[str], state: Path) -> dict[str, int]:
    doc = _status(capsys, state)
    counters = doc["counters"]
    assert isinstance(counters, dict)
    return {key.split(":", 1)[1]: n for key, n in counters.items() if key.startswith("skipped:")}


# --- whole files --------------------------------------------------------------------------------


def _garbage(path: Path) -> None:
    """Random bytes with record fragments mixed in, so the parser's candidate paths are exercised."""
    rng = random.Random(7)
    pieces = [b"type=1326 ", b"audit(", b"audit: ", b"\n", b"syscall=", b"\x00", b" code=0x", b"\r\n"]
    out = bytearray()
    while len(out) < 256 * 1024:
        out += rng.randbytes(rng.randrange(1, 200))
        out += rng.choice(pieces)
    path.write_bytes(bytes(out))


def test_binary_garbage_learns_nothing_and_exits_0(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "garbage.bin"
    _garbage(bad)
    code, _, err = _run(capsys, "learn", "--state", str(state), str(bad))
    assert code == 0, err
    assert "Traceback" not in err
    assert counts(state) == {GOOD: 1}
    code, _, err = _run(capsys, "explain", str(bad))
    assert code == 0
    assert "Traceback" not in err
    _assert_kept(capsys, state)


def test_invalid_utf8_is_skipped_or_escaped_never_fatal(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw_exe = record(1, serial=2).replace('exe="/bin/cat"', 'exe="/bin/\xff\xfe"').encode("latin-1")
    hex_comm = record(2, serial=3).replace('comm="cat"', "comm=FF6361FE")  # the kernel's hex form
    bad = tmp_path / "utf8.log"
    bad.write_bytes(
        b"\xff\xfe\xfd junk\n" + syslog("").encode()[:-1] + raw_exe + b"\n" + syslog(hex_comm).encode()
    )
    code, _, err = _run(capsys, "learn", "--state", str(state), str(bad))
    assert code == 0, err
    assert counts(state) == {
        GOOD: 1,
        ("x86_64", 2, False): 1,
    }  # hex comm decoded; a raw byte in quotes is not
    assert _skipped(capsys, state) == {"malformed-string": 1}
    code, out, err = _run(capsys, "explain", str(bad))
    assert code == 0
    assert "comm=\\xffca\\xfe" in out  # not UTF-8: shown escaped, never raw
    assert "malformed-string: 1" in err
    _assert_kept(capsys, state)


def test_nul_bytes_skip_their_line_only(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "nul.log"
    with_nul = syslog(record(3, serial=4)).replace('comm="cat"', 'comm="c\x00t"')
    bad.write_text("\x00\x00\x00\n" + with_nul + syslog(record(4, serial=5)))
    code, _, err = _run(capsys, "learn", "--state", str(state), str(bad))
    assert code == 0, err
    assert counts(state) == {GOOD: 1, ("x86_64", 4, False): 1}
    assert _skipped(capsys, state) == {"nul-byte": 1}
    _assert_kept(capsys, state)


def test_crlf_line_endings_parse_like_lf(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [syslog(record(n, serial=10 + n)) for n in (5, 6)]
    lines.append(json.dumps({"MESSAGE": record(7, serial=20), "_TRANSPORT": "kernel"}) + "\n")
    lines.append(record(8, serial=21).replace("audit: type=1326 audit(", "type=SECCOMP msg=audit(") + "\n")
    crlf = tmp_path / "crlf.log"
    crlf.write_bytes("".join(lines).replace("\n", "\r\n").encode())
    code, _, err = _run(capsys, "learn", "--state", str(state), str(crlf))
    assert code == 0, err
    learned = {number for (_abi, number, _trusted) in counts(state)}
    assert learned == {0, 5, 6, 7, 8}
    assert _skipped(capsys, state) == {}
    code, out, _ = _run(capsys, "explain", str(crlf))
    assert code == 0
    assert len(out.splitlines()) == 4
    assert "\r" not in out
    _assert_kept(capsys, state)


def _big_line() -> Iterator[bytes]:
    """One record line, then 100 MB without a newline that starts like a record and never ends."""
    yield syslog(record(9, serial=30)).encode()
    block = b"audit: type=1326 audit(" + b"7" * (1024 * 1024 - 23)
    for _ in range(BIG_LINE // len(block)):
        yield block


def _measured(command: list[str], stdin: Iterable[bytes] = ()) -> tuple[int, str, float]:
    """Run the CLI with ``command``, ``stdin`` streamed to it; (exit status, stderr + stdout, peak RSS MB)."""
    run = MeasuredRun(
        [sys.executable, "-m", "seccomp_gen", *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )
    proc = run.proc
    streams = (proc.stdin, proc.stdout, proc.stderr)
    assert streams[0] is not None
    assert streams[1] is not None
    assert streams[2] is not None
    writer, out, err = streams[0], streams[1], streams[2]
    output: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda: output.__setitem__("out", out.read()), daemon=True),
        threading.Thread(target=lambda: output.__setitem__("err", err.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    with contextlib.suppress(BrokenPipeError):
        for piece in stdin:
            writer.write(piece)
    with contextlib.suppress(BrokenPipeError):
        writer.close()
    run.wait()
    for reader in readers:
        reader.join(timeout=30)
    out.close()
    err.close()
    text = output.get("err", b"").decode() + output.get("out", b"").decode()
    return proc.returncode, text, run.peak_kib() / 1024


def _check_big_line_run(
    command: str, state: Path, capsys: pytest.CaptureFixture[str], result: tuple[int, str, float]
) -> None:
    code, text, peak_mb = result
    assert code == 0, text
    assert "Traceback" not in text
    assert peak_mb < RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB for a {BIG_LINE >> 20} MB line"
    if command == "learn":
        assert counts(state) == {GOOD: 1, ("x86_64", 9, False): 1}
        assert _skipped(capsys, state) == {"too-long": 1}
        _assert_kept(capsys, state)
    else:
        assert "x86_64 mmap LOG" in text  # the record before the long line
        assert "too-long: 1" in text


def _args(command: str, state: Path, source: str) -> list[str]:
    return [command, "--state", str(state), source] if command == "learn" else [command, source]


@pytest.mark.parametrize("command", ["learn", "explain"])
def test_a_100_mb_line_without_newline_keeps_memory_bounded(
    state: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """Streamed through a pipe: nothing of that size is ever written to disk."""
    _check_big_line_run(command, state, capsys, _measured(_args(command, state, "-"), _big_line()))


@pytest.mark.parametrize("command", ["learn", "explain"])
def test_a_100_mb_line_inside_a_small_gzip_keeps_memory_bounded(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    bomb = tmp_path / "syslog.3.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    with bomb.open("wb") as out:
        for piece in _big_line():
            out.write(packer.compress(piece))
        out.write(packer.flush())
    assert bomb.stat().st_size < BIG_LINE // 100
    _check_big_line_run(command, state, capsys, _measured(_args(command, state, str(bomb))))


@pytest.mark.parametrize("command", ["learn", "explain"])
def test_binary_garbage_on_stdin(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    garbage = tmp_path / "garbage.bin"
    _garbage(garbage)
    code, text, _peak = _measured(_args(command, state, "-"), [garbage.read_bytes()])
    assert code == 0, text
    assert "Traceback" not in text
    assert counts(state) == {GOOD: 1}
    _assert_kept(capsys, state)


def test_truncated_gzip_is_one_error_line_and_keeps_what_came_before_the_cut(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(3)
    text = "".join(syslog(record(100 + n % 50, serial=100 + n)) for n in range(5000)).encode()
    whole = gzip.compress(text + rng.randbytes(100_000))  # incompressible tail: the cut falls in it
    cut = tmp_path / "syslog.2.gz"
    cut.write_bytes(whole[: len(whole) - 50_000])
    code, _, err = _run(capsys, "learn", "--state", str(state), str(cut))
    assert code == 2
    _assert_one_error_line(err, "truncated gzip")
    assert sum(counts(state).values()) == 1 + 5000  # every record before the cut was read and kept
    code, _out, err = _run(capsys, "explain", str(cut))
    assert code == 2
    _assert_one_error_line(err, str(cut))
    _assert_kept(capsys, state)


def test_empty_file_reads_zero_lines(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.log"
    empty.touch()
    code, _, err = _run(capsys, "learn", "--state", str(state), str(empty))
    assert code == 0
    assert "Read 0 lines" in err
    code, out, err = _run(capsys, "explain", str(empty))
    assert (code, out, err) == (0, "", "")
    _assert_kept(capsys, state)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        pytest.param(lambda p: p.mkdir(), "directory", id="directory given as a file"),
        pytest.param(lambda p: None, "no such file", id="nonexistent file"),
    ],
)
def test_unusable_path_is_one_error_line(
    state: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], None],
    needle: str,
) -> None:
    path = tmp_path / "input"
    make(path)
    for command in (["learn", "--state", str(state)], ["explain"]):
        code, out, err = _run(capsys, *command, str(path))
        assert (code, out) == (2, "")
        _assert_one_error_line(err, needle, str(path.name))
    _assert_kept(capsys, state)


def test_unreadable_file_is_one_error_line(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As root, read it without the capabilities that bypass file modes (what any other user has)."""
    secret = tmp_path / "secret.log"
    secret.write_text(syslog(record(10, serial=40)))
    secret.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search"
        prefix = [need_program("setpriv"), f"--inh-caps={drop}", f"--bounding-set={drop}"]
    for command in (["learn", "--state", str(state)], ["explain"]):
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "seccomp_gen", *command, str(secret)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        _assert_one_error_line(done.stderr, "permission denied", str(secret))
    _assert_kept(capsys, state)


# --- bad lines ----------------------------------------------------------------------------------


def _variant(old: str, new: str, serial: int) -> str:
    line = record(11, serial=serial)
    assert old in line
    return syslog(line.replace(old, new, 1))


# The same record text in each framing: the fast path and the general one must both skip it.
FRAMINGS: dict[str, Callable[[str], str]] = {
    "syslog": syslog,
    "kmsg": lambda text: kmsg(text, 7),
    "auditd": lambda text: text.replace("audit: type=1326 audit(", "type=SECCOMP msg=audit(", 1) + "\n",
    "journald-json": lambda text: json.dumps({"MESSAGE": text, "_TRANSPORT": "kernel"}) + "\n",
}


BAD_LINES = [
    pytest.param("uid=0 gid", "uid=4294967296 gid", "number-out-of-range", id="uid out of range"),
    pytest.param("pid=1234", "pid=-5", "negative-number", id="negative pid"),
    pytest.param("syscall=11", "syscall=18446744073709551616", "number-out-of-range", id="syscall 2^64"),
    pytest.param("syscall=11", "syscall=" + "9" * 40, "malformed-number", id="syscall of 40 digits"),
    pytest.param("code=0x7ffc0000", "code=0x17ffc0000", "malformed-fields", id="code over 32 bits"),
    pytest.param("ip=0x40828e", "ip=0x1" + "0" * 16, "malformed-number", id="ip over 64 bits"),
    pytest.param("arch=c000003e", "arch=1c000003e", "malformed-number", id="arch over 32 bits"),
    pytest.param(":1)", ":4294967296)", "number-out-of-range", id="serial over 32 bits"),
    pytest.param("sig=0", "sig=0 sig=0", "malformed-fields", id="duplicated field"),
    pytest.param("uid=0 gid=0", "gid=0 uid=0", "malformed-fields", id="fields in another order"),
    pytest.param(" code=0x7ffc0000", "", "truncated", id="truncated record"),
]


@pytest.mark.parametrize("framing", sorted(FRAMINGS))
@pytest.mark.parametrize(("old", "new", "reason"), BAD_LINES)
def test_bad_record_line_is_skipped_and_counted(
    state: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    old: str,
    new: str,
    reason: str,
    framing: str,
) -> None:
    frame = FRAMINGS[framing]
    line = record(11, serial=1)
    assert old in line
    bad = tmp_path / "bad.log"
    bad.write_text(frame(line.replace(old, new, 1)) + frame(record(12, serial=2)))
    code, _, err = _run(capsys, "learn", "--state", str(state), str(bad))
    assert code == 0, err
    learned = counts(state)
    assert learned.pop(GOOD) == 1
    assert [(abi, number, n) for (abi, number, _trusted), n in learned.items()] == [("x86_64", 12, 1)]
    assert _skipped(capsys, state) == {reason: 1}
    code, out, err = _run(capsys, "explain", str(bad))
    assert code == 0
    assert len(out.splitlines()) == 1
    assert f"{reason}: 1" in err
    _assert_kept(capsys, state)


def test_unknown_audit_arch_is_kept_apart_and_never_emitted(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "arch.log"
    bad.write_text(_variant("arch=c000003e", "arch=deadbeef", 60))
    code, _, err = _run(capsys, "learn", "--state", str(state), str(bad))
    assert code == 0, err
    assert counts(state) == {GOOD: 1, ("unknown-deadbeef", 11, False): 1}
    doc = _status(capsys, state)
    assert doc["unknown_numbers"] == [{"abi": "unknown-deadbeef", "number": 11, "name": None, "records": 1}]
    code, out, err = _run(capsys, "emit", "--state", str(state), "--arch", "x86_64")
    assert code == 0, err
    assert "unknown-deadbeef 11" in err
    names = {n for rule in json.loads(out)["syscalls"] for n in rule["names"]}
    assert "read" in names
    assert "munmap" not in names  # x86_64's 11: an unknown ABI's number names nothing
    code, out, _ = _run(capsys, "explain", str(bad))
    assert "arch=deadbeef unknown(11)" in out
    _assert_kept(capsys, state)


def test_timestamp_past_year_9999_is_rejected_not_a_crash(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "future.log"
    far = record(13, serial=50).replace("audit(1795888092.790:", "audit(99999999999999999999.790:")
    bad.write_text(syslog(far) + syslog(record(14, serial=51)))
    code, _, err = _run(capsys, "learn", "--state", str(state), str(bad))
    assert code == 0, err
    assert "1 rejected (timestamp-out-of-range 1)" in err
    assert counts(state) == {GOOD: 1, ("x86_64", 14, False): 1}
    code, out, _ = _run(capsys, "explain", str(bad))
    assert code == 0
    assert out.splitlines()[0].startswith("- ")  # no date to show
    _assert_kept(capsys, state)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_escapes_in_comm_and_exe_never_reach_the_terminal(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any process names itself: the kernel hex-encodes such names, decoding must not replay them raw."""
    comm, exe = "\x1b[31mevil\x07", "\x1b]0;owned\x07/bin/sh"
    line = record(15, serial=70).replace('comm="cat"', f"comm={comm.encode().hex().upper()}")
    line = line.replace('exe="/bin/cat"', f"exe={exe.encode().hex().upper()}")
    bad = tmp_path / "escapes.log"
    bad.write_text(syslog(line))
    assert main(["learn", "--state", str(state), str(bad)]) == 0
    code, out, _ = _run(capsys, "status", "--state", str(state))
    assert code == 0
    assert "\x1b" not in out
    assert "\x07" not in out
    assert '"\\u001b[31mevil\\u0007" "\\u001b]0;owned\\u0007/bin/sh"' in out
    code, out, _ = _run(capsys, "explain", str(bad))
    assert "\x1b" not in out
    terminal = _Terminal()
    _Feedback(terminal).learned(NewSyscall("x86_64", 15, "rt_sigreturn", comm, False))
    assert terminal.getvalue() == '+ rt_sigreturn (x86_64) by "\\u001b[31mevil\\u0007"  [untrusted source]\n'
    _assert_kept(capsys, state)
