"""Broken profiles through every command that reads one (check, diff, merge): one line, exit 2.

The issue's bad-input matrix, profile rows: invalid JSON, wrong types, unknown actions, ``name`` vs
``names``, empty ``syscalls``, enormous files, non-UTF-8, a directory, a missing file. Like Docker,
the legacy ``name`` (one string) is read as ``names``, and naming both is an error; a profile whose
``syscalls`` is empty is valid (it denies everything) and ``check`` warns about it.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen.cli import main
from seccomp_gen.profile_read import MAX_PROFILE_BYTES
from tests._rss import MeasuredRun

TOO_LARGE = f"larger than {MAX_PROFILE_BYTES >> 20} MiB"

GOOD: dict[str, Any] = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}],
}


def profile(**changes: Any) -> bytes:
    return json.dumps(GOOD | changes).encode()


def rule(**fields: Any) -> bytes:
    return profile(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW"} | fields])


def arg(**fields: Any) -> bytes:
    return rule(args=[{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"} | fields])


BROKEN = [
    pytest.param(b"{ nope", "not JSON", id="invalid JSON"),
    pytest.param(profile()[:-9], "not JSON", id="truncated JSON"),
    pytest.param(b"", "not JSON", id="empty file"),
    pytest.param(b"[]", "the top level must be an object", id="a list"),
    pytest.param(b'{"syscalls": []}', "no defaultAction", id="no defaultAction"),
    pytest.param(profile(defaultAction=7), "defaultAction must be a string", id="defaultAction a number"),
    pytest.param(
        profile(defaultAction="SCMP_ACT_NOPE"), "unknown action 'SCMP_ACT_NOPE'", id="unknown default"
    ),
    pytest.param(profile(syscalls={"read": "allow"}), "syscalls must be a list", id="syscalls an object"),
    pytest.param(profile(syscalls="read"), "syscalls must be a list", id="syscalls a string"),
    pytest.param(profile(syscalls=[["read"]]), r"syscalls\[0\] must be an object", id="rule a list"),
    pytest.param(rule(names="read"), r"syscalls\[0\]\.names must be a list", id="names a string"),
    pytest.param(rule(names=["read", 0]), r"syscalls\[0\]\.names\[1\] must be a string", id="name a number"),
    pytest.param(rule(names=[None]), r"syscalls\[0\]\.names\[0\] must be a string", id="name null"),
    pytest.param(
        profile(syscalls=[{"name": ["read"], "action": "SCMP_ACT_ALLOW"}]),
        r"syscalls\[0\]\.name must be a string",
        id="legacy name a list",
    ),
    pytest.param(rule(name="write"), "both 'name' and 'names'", id="name and names"),
    pytest.param(rule(action=0), r"syscalls\[0\]: action must be a string", id="action a number"),
    pytest.param(rule(action=None), r"syscalls\[0\]: action must be a string", id="action null"),
    pytest.param(rule(action="SCMP_ACT_MAYBE"), "unknown action 'SCMP_ACT_MAYBE'", id="unknown action"),
    pytest.param(rule(action="allow"), "unknown action 'allow'", id="action in lower case"),
    pytest.param(
        rule(action="SCMP_ACT_ERRNO", errnoRet="EPERM"), "errnoRet must be an integer", id="errno a string"
    ),
    pytest.param(rule(action="SCMP_ACT_ERRNO", errnoRet=-1), "does not fit in 16 bits", id="errno negative"),
    pytest.param(arg(value=-1), "not an unsigned 64-bit number", id="arg value negative"),
    pytest.param(arg(value=1 << 64), "not an unsigned 64-bit number", id="arg value over 2^64"),
    pytest.param(arg(valueTwo=1 << 70), "not an unsigned 64-bit number", id="arg valueTwo over 2^64"),
    pytest.param(arg(value=1.5), "value must be an integer", id="arg value a float"),
    pytest.param(arg(op="EQ"), "unknown operator 'EQ'", id="unknown operator"),
    pytest.param(arg(index=True), "index must be an integer", id="arg index a boolean"),
    pytest.param(rule(names=["read\nerror: forged"]), "control characters", id="newline in a name"),
    pytest.param(rule(names=["\x1b[2Jread"]), "control characters", id="terminal escape in a name"),
    pytest.param(
        b'{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["\\ud800"]}', "invalid Unicode", id="surrogate"
    ),
    pytest.param(profile(architectures=["SCMP_ARCH_VAX"]), "unknown architecture", id="unknown architecture"),
    pytest.param(b'{"defaultAction": ' + b"9" * 5000 + b"}", "not a usable JSON number", id="5000 digits"),
    pytest.param(b"[" * 100_000, "nested too deeply", id="deep nesting"),
    pytest.param(b'{"defaultAction": "SCMP_ACT_\xff"}', "not UTF-8 text", id="invalid UTF-8"),
    pytest.param(profile().decode().encode("utf-16"), "not UTF-8 text", id="UTF-16"),
    pytest.param(b"SQLite format 3\x00" + b"\x00" * 100, "state", id="a corrupt state database"),
    pytest.param(b"\xff" + random.Random(7).randbytes(4096), "not UTF-8 text", id="binary garbage"),
    pytest.param(profile()[:20] + b"\x00" + profile()[20:], "not JSON", id="NUL byte"),
    pytest.param(rule(names=["re\x00ad"]), "control characters", id="NUL in a name"),
]


def good_profile(tmp_path: Path) -> Path:
    path = tmp_path / "good.json"
    path.write_bytes(profile())
    return path


COMMANDS: list[Any] = [
    pytest.param(lambda bad, good: ["check", bad], id="check"),
    pytest.param(lambda bad, good: ["diff", good, bad], id="diff A BAD"),
    pytest.param(lambda bad, good: ["merge", good, bad], id="merge"),
    pytest.param(lambda bad, good: ["merge", bad, good, "-o", good + ".out"], id="merge -o"),
]


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, message: str) -> None:
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1, err
    assert re.search(message, err), err


@pytest.mark.parametrize(("content", "message"), BROKEN)
@pytest.mark.parametrize("command", COMMANDS)
def test_broken_profile(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes,
    message: str,
    command: Callable[[str, str], list[str]],
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    good = good_profile(tmp_path)
    assert_one_line_error(*run(capsys, command(str(bad), str(good))), message)
    assert not Path(str(good) + ".out").exists()


def _enormous_sparse(path: Path) -> None:
    """200 MB that take no disk: the size alone must refuse it, before any reading."""
    with path.open("wb") as handle:
        handle.write(b'{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [')
        handle.truncate(200 << 20)


PATHS = [
    pytest.param(lambda tmp: tmp / "missing.json", "cannot read: No such file or directory", id="missing"),
    pytest.param(lambda tmp: tmp, "cannot read: Is a directory", id="a directory"),
    pytest.param(lambda tmp: Path("/dev/zero"), TOO_LARGE, id="an endless stream"),
]


@pytest.mark.parametrize(("make", "message"), PATHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_unreadable_profile_paths(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    make: Callable[[Path], Path],
    message: str,
    command: Callable[[str, str], list[str]],
) -> None:
    good = good_profile(tmp_path)
    assert_one_line_error(*run(capsys, command(str(make(tmp_path)), str(good))), message)


@pytest.mark.parametrize("command", COMMANDS)
def test_enormous_file_is_refused_by_its_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: Callable[[str, str], list[str]]
) -> None:
    big = tmp_path / "big.json"
    _enormous_sparse(big)
    good = good_profile(tmp_path)
    assert_one_line_error(*run(capsys, command(str(big), str(good))), TOO_LARGE)


def test_enormous_json_through_a_pipe_keeps_memory_bounded() -> None:
    """200 MB of valid JSON on stdin: refused after reading the cap, never held whole."""
    head = b'{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW", "names": ['
    run = MeasuredRun(
        [sys.executable, "-m", "seccomp_gen", "check", "/dev/stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc = run.proc
    assert proc.stdin is not None
    assert proc.stderr is not None

    def feed() -> None:
        block = b'"read", ' * (1 << 17)  # 1 MiB
        try:
            proc.stdin.write(head)  # type: ignore[union-attr]
            for _ in range(200):
                proc.stdin.write(block)  # type: ignore[union-attr]
            proc.stdin.write(b'"read"]}]}')  # type: ignore[union-attr]
        except BrokenPipeError:
            pass  # it stopped reading: what we want
        finally:
            proc.stdin.close()  # type: ignore[union-attr]

    feeder = threading.Thread(target=feed)
    feeder.start()
    run.wait()
    feeder.join(timeout=30)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.returncode == 2, err
    assert err.startswith(f"error: '/dev/stdin' is {TOO_LARGE}"), err
    assert err.count("\n") == 1
    assert run.peak_kib() * 1024 < 4 * MAX_PROFILE_BYTES + (120 << 20), "memory grew with the input"


# --- accepted on purpose ------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_crlf_line_ends_read_like_lf(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: Callable[[str, str], list[str]]
) -> None:
    """A profile saved on Windows: CR is JSON whitespace, so it reads as the same profile."""
    crlf = tmp_path / "crlf.json"
    crlf.write_bytes(json.dumps(GOOD, indent=2).replace("\n", "\r\n").encode())
    assert b"\r\n" in crlf.read_bytes()
    good = good_profile(tmp_path)
    code, _out, err = run(capsys, command(str(crlf), str(good)))
    assert code == 0, err
    assert "error" not in err
    assert main(["diff", str(good), str(crlf)]) == 0  # allows exactly what the LF profile allows
    assert "same:" in capsys.readouterr().out


def test_legacy_name_is_read_like_names(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Docker reads ``"name": "read"`` as ``"names": ["read"]``; so do we."""
    legacy = tmp_path / "legacy.json"
    legacy.write_bytes(
        profile(
            syscalls=[
                {"name": "read", "action": "SCMP_ACT_ALLOW"},
                {"name": "write", "action": "SCMP_ACT_ALLOW"},
            ]
        )
    )
    code, out, _ = run(capsys, ["diff", str(good_profile(tmp_path)), str(legacy)])
    assert (code, out.split(":")[0]) == (0, "same")
    code, _, err = run(capsys, ["check", "--strict", str(legacy)])
    assert code == 0, err


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(profile(syscalls=[]), id="empty syscalls"),
        pytest.param(json.dumps({"defaultAction": "SCMP_ACT_ERRNO"}).encode(), id="no syscalls"),
    ],
)
def test_a_profile_allowing_nothing_is_valid_and_warned_about(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, document: bytes
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(document)
    code, _, err = run(capsys, ["check", str(empty)])
    assert code == 0, err
    assert "warning: the profile allows no syscall at all" in err
    code, _, _ = run(capsys, ["check", "--strict", str(empty)])
    assert code == 1
    code, out, _ = run(capsys, ["merge", str(empty), str(good_profile(tmp_path)), "-f", "oci"])
    assert code == 0
    assert json.loads(out)["syscalls"] == GOOD["syscalls"]


def test_an_unknown_runtime_base_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``emit --base`` names a shipped runtime set, not a file: anything else is refused."""
    from tests.test_emit import make_state
    from tests.test_profile import fixed_observations

    state = make_state(tmp_path / "state.db", fixed_observations())
    code, out, err = run(capsys, ["emit", "--state", str(state), "--base", "./profile.json"])
    assert_one_line_error(
        code,
        out,
        err,
        "--base './profile.json': choose one of auto, none, crun, runc, crun@VERSION, runc@VERSION",
    )


@pytest.mark.parametrize("base", ["runc@", "runc@1.x", "auto@1.1", "none@2"])
def test_a_bad_runtime_version_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, base: str
) -> None:
    from tests.test_emit import make_state
    from tests.test_profile import fixed_observations

    state = make_state(tmp_path / "state.db", fixed_observations())
    code, out, err = run(capsys, ["emit", "--state", str(state), "--base", base])
    assert_one_line_error(code, out, err, f"--base {base!r}: ")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_name_with_a_newline_stays_on_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: Callable[[str, str], list[str]]
) -> None:
    bad = tmp_path / "bad\nerror: forged.json"
    bad.write_bytes(b"{ nope")
    assert_one_line_error(*run(capsys, command(str(bad), str(good_profile(tmp_path)))), r"bad\\nerror")


def test_repeated_names_are_compiled_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """libseccomp's time grows with the square of repeats of one rule (20,000 repeats took 16 s)."""
    repeated = tmp_path / "repeated.json"
    repeated.write_bytes(rule(names=["read", "write"] * 100_000))
    code, _, err = run(capsys, ["check", str(repeated)])
    assert code == 0, err
    assert "warning: read is listed 100000 times" in err
