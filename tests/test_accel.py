"""The parser's C accelerator (seccomp_gen/_accel.c) against the pure-Python hot loop, its reference.

The parser tables and properties (test_records*.py, the parser tests of test_fuzz.py) already run once
with each loop through the ``hot_loop`` fixture. Here: both loops over the same real logs and
generated corpora, side by side; the C loop's bounded caches when a log has more framings or process
combinations than they hold; what turns it off; that CI really builds and uses it; and that the C
source compiles without a warning.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_gen import _fastpath, _reader
from seccomp_gen.events import SeccompEvent
from seccomp_gen.lines import iter_chunks
from seccomp_gen.parse_stats import SkipReason
from seccomp_gen.records import Format, Parsed, ParseStats, RecordParser
from tests.realpath import need
from tests.test_records_fuzz import EDITS, FRAMES, RECORD, WHOLE, _edit

REPO = Path(__file__).resolve().parent.parent
RECORDS = REPO / "tests" / "data" / "records"
LOGS = sorted(
    path for path in RECORDS.rglob("*.log") if path.is_file() and not path.name.startswith("ausearch-input")
)


@pytest.fixture(autouse=True)
def _built() -> None:
    need(_fastpath.ACCEL is not None, f"needs the C accelerator: {_fastpath.accelerator_status()}")


def _both(
    data: bytes, fmt: Format = Format.AUTO, block: int | None = None
) -> tuple[list[Parsed], ParseStats]:
    """Parse ``data`` with the C and the Python hot loop; they must agree. Returns what they found."""
    results = []
    for accelerated in (True, False):
        parser = RecordParser(fmt, accelerated=accelerated)
        assert parser.accelerated is accelerated
        if block is None:
            found = parser.feed_chunk(data)
        else:
            found = [
                item
                for chunk in iter_chunks(io.BytesIO(data), block=block, on_drop=parser_drop(parser))
                for item in parser.feed_chunk(chunk)
            ]
        results.append((found, parser.stats))
    (c_found, c_stats), (py_found, py_stats) = results
    assert c_found == py_found
    assert c_stats == py_stats
    return c_found, c_stats


def parser_drop(parser: RecordParser) -> Callable[[int], None]:
    return lambda n: parser.count_skipped(SkipReason.TOO_LONG, n)


@pytest.mark.parametrize("path", LOGS, ids=lambda path: str(path.relative_to(RECORDS)))
@pytest.mark.parametrize("fmt", [Format.AUTO, Format.KMSG, Format.SYSLOG, Format.AUDITD, Format.JOURNAL_JSON])
def test_real_logs_read_alike(path: Path, fmt: Format) -> None:
    data = path.read_bytes()
    found, stats = _both(data, fmt)
    assert stats.lines == data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
    if fmt is Format.AUTO:
        assert found or stats.skipped or stats.noise  # every file holds something the parser reports
    for block in (97, 4096):
        assert _both(data, fmt, block) == (found, stats)


def _corpus(rng: random.Random, lines: int) -> bytes:
    """Records of many processes, framings and stamps among noise, auditd lines and loss markers."""
    noise = [
        "Nov 28 11:00:00 vm sshd[812]: Accepted publickey for root from 10.0.0.2 port 50122 ssh2",
        "2026-11-28T11:00:00.1+00:00 vm systemd[1]: Started session-3.scope - Session 3 of User root.",
        '2026-11-28T11:00:01.2+00:00 vm kernel: [  270.1] audit: type=1400 audit(1.2:3): apparmor="DENIED"',
        "type=SYSCALL msg=audit(1795888524.926:4081): arch=c000003e syscall=257 success=yes exit=3",
        "type=PROCTITLE msg=audit(1795888524.926:4081): proctitle=7368",
        "kauditd_printk_skb: 14 callbacks suppressed",
        "systemd-journald[300]: Suppressed 12 messages from kernel",
        '{"MESSAGE":[97,117,100,105,116],"_TRANSPORT":"kernel"}',
        "",
    ]
    out = []
    for serial in range(1, lines + 1):
        if rng.random() < 0.3:
            out.append(rng.choice(noise))
            continue
        record = RECORD.replace("4081", str(serial)).replace("26871", str(rng.randrange(1, 5_000_000)))
        record = record.replace('comm="sh"', f'comm="p{rng.randrange(60)}"')
        record = record.replace("syscall=110", f"syscall={rng.randrange(460)}")
        record = record.replace("ip=0x7fc30aaf34f7", f"ip=0x{rng.getrandbits(rng.choice((8, 47, 64))):x}")
        if rng.random() < 0.05:
            record = _edit(
                record, [(rng.randrange(10**6), "replace", rng.choice(["x", "0", " ", "\x00", "é"]))]
            )
        out.append(rng.choice(FRAMES) + record)
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize("seed", range(4))
def test_generated_corpus_reads_alike(seed: int) -> None:
    data = _corpus(random.Random(seed), 6000)
    found, stats = _both(data)
    assert stats.records > 3000
    assert _both(data, block=8192) == (found, stats)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(WHOLE), EDITS), min_size=1, max_size=20), st.sampled_from(list(Format))
)
def test_mutated_lines_read_alike(picks: list[tuple[str, list[tuple[int, str, str]]]], fmt: Format) -> None:
    """Everyday lines with a few characters changed next to a separator: both loops take, hand on or
    skip each exactly alike (the C loop's cuts, shape checks and number bounds are the risky part).
    """
    _both("\n".join(_edit(line, edits) for line, edits in picks).encode(), fmt)


def test_more_combinations_than_the_caches_hold() -> None:
    """The C caches hold 4096 framings and 4096 process combinations and are emptied when full: a log
    with more of each reads the same, and again the same after the caches were emptied."""
    cache = _fastpath.ACCEL.CACHE_MAX if _fastpath.ACCEL else 0
    lines = []
    for n in range(cache + 1500):
        host = "h" + "".join(chr(97 + int(digit)) for digit in str(n))  # letters: a new framing shape each
        lines.append(f"Jul  6 15:37:40 {host} kernel: " + RECORD.replace('comm="sh"', f'comm="c{n}"'))
    data = "\n".join(lines * 2).encode()
    found, stats = _both(data)
    assert stats.records == len(lines) * 2
    assert {event.comm for event in found if isinstance(event, SeccompEvent)} == {
        f"c{n}" for n in range(len(lines))
    }


def test_huge_repeating_parts_stay_bounded() -> None:
    """Cache keys hold a line's repeating parts: 200 records with 30 KB subjects (6 MB of keys) pass the
    byte bound (4 MiB) and empty the cache; the results do not change."""
    lines = [RECORD.replace("pid=26871", f"subj={'s' * 30_000}{n} pid=26871") for n in range(200)]
    found, stats = _both("\n".join(lines).encode())
    assert stats.records == 200
    assert [event.subj[-3:] for event in found if isinstance(event, SeccompEvent) and event.subj] == [
        ("s" * 3 + str(n))[-3:] for n in range(200)
    ]


def test_pure_python_on_request() -> None:
    """``SECCOMP_GEN_PURE_PYTHON=1`` turns the accelerator off; ``RecordParser(accelerated=True)`` then
    refuses instead of silently running slow."""
    probe = (
        "from seccomp_gen import _fastpath; from seccomp_gen.records import RecordParser\n"
        "print(_fastpath.ACCEL is None, RecordParser().accelerated, _fastpath.accelerator_status())\n"
        "try:\n    RecordParser(accelerated=True)\nexcept RuntimeError as error:\n    print(error)\n"
    )
    for value, expected in (
        ("1", "True False pure Python: SECCOMP_GEN_PURE_PYTHON is set"),
        ("0", "False True C"),
    ):
        env = {**os.environ, "SECCOMP_GEN_PURE_PYTHON": value}
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True, cwd=REPO
        )
        assert done.stdout.startswith(expected)
        assert ("the C accelerator is not there" in done.stdout) is (value == "1")


def test_c_source_compiles_without_a_warning(tmp_path: Path) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    need(compiler is not None, "needs a C compiler (apt-get install gcc)")
    assert compiler is not None
    include = sysconfig.get_paths()["include"]
    need(Path(include, "Python.h").exists(), "needs the Python headers (apt-get install python3-dev)")
    done = subprocess.run(
        [
            compiler,
            "-O2",
            "-fPIC",
            "-shared",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wshadow",
            "-Wconversion",
            "-Wno-sign-conversion",
            f"-I{include}",
            str(REPO / "seccomp_gen" / "_accel.c"),
            "-o",
            str(tmp_path / "accel.so"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_scanner_checks_what_python_hands_it() -> None:
    """The C loop indexes lines with the spans ``front_spans`` returns and copies what ``proto``
    returns: nonsense from either is an exception, never a read outside the line."""
    accel = _fastpath.ACCEL
    assert accel is not None
    line = RECORD.encode() + b"\n"
    fast = _reader.LineReader(None, journal=False)

    def scanner(front_spans: Callable[[bytes], tuple[int, ...]], proto: Callable[..., object]) -> Any:
        return accel.Scanner(front_spans, proto, SeccompEvent, True, 2**31 - 1, 1)

    def past_the_end(shape: bytes) -> tuple[int, ...]:
        return (0, -1, -1, -1, -1, 0, 7, 11, len(shape) + 5, len(shape) + 30, 0)

    with pytest.raises(ValueError, match="outside the front"):
        scanner(past_the_end, fast.proto).scan(line, [], lambda start, stop: None)
    with pytest.raises(TypeError, match="tuple of 11"):
        scanner(lambda shape: (1, 2), fast.proto).scan(line, [], lambda start, stop: None)
    with pytest.raises(TypeError, match="must return a dict"):
        scanner(fast.front_spans, lambda *parts: [1]).scan(line, [], lambda start, stop: None)
    with pytest.raises(ZeroDivisionError):  # an exception in Python code comes through
        scanner(fast.front_spans, lambda *parts: 1 / 0).scan(line, [], lambda start, stop: None)
    events: list[object] = []
    assert scanner(fast.front_spans, fast.proto).scan(line, events, lambda start, stop: None) == (
        1,
        1,
        0,
        0,
    )
    assert events == RecordParser(accelerated=False).feed_chunk(line)


_SANITIZED_RUN = """
import random, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]  # the copy with the sanitized module first, then the repository
import seccomp_gen._accel
assert seccomp_gen._accel.__file__.startswith(sys.argv[1]), seccomp_gen._accel.__file__
from tests.test_accel import LOGS, _both, _corpus
from seccomp_gen.records import Format
from seccomp_gen.parse_stats import SkipReason
for path in LOGS:
    for fmt in (Format.AUTO, Format.SYSLOG, Format.AUDITD):
        _both(path.read_bytes(), fmt, 4096)
for seed in range(3):
    _both(_corpus(random.Random(seed), 4000))
print("ok")
"""


@pytest.mark.slow
def test_c_loop_under_address_and_undefined_behaviour_sanitizers(tmp_path: Path) -> None:
    """The C loop built with ASan and UBSan (any bad read, write or overflow aborts) reads every captured
    log and generated corpora exactly as the Python loop does."""
    compiler = shutil.which("gcc")
    need(compiler is not None, "needs gcc (apt-get install gcc)")
    assert compiler is not None
    include = sysconfig.get_paths()["include"]
    need(Path(include, "Python.h").exists(), "needs the Python headers (apt-get install python3-dev)")
    runtimes = [
        subprocess.run(
            [compiler, f"-print-file-name={name}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        for name in ("libasan.so", "libubsan.so")
    ]
    need(all(Path(runtime).is_absolute() for runtime in runtimes), "needs gcc's sanitizer runtimes")
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "seccomp_gen", copy / "seccomp_gen", ignore=shutil.ignore_patterns("*.so"))
    (copy / "syscall_tables").symlink_to(REPO / "syscall_tables")
    module = copy / "seccomp_gen" / ("_accel" + str(sysconfig.get_config_var("EXT_SUFFIX")))
    build = [compiler, "-g", "-O1", "-fno-omit-frame-pointer", "-fsanitize=address,undefined"]
    build += ["-fno-sanitize-recover=undefined", "-fPIC", "-shared", f"-I{include}"]
    subprocess.run([*build, str(copy / "seccomp_gen" / "_accel.c"), "-o", str(module)], check=True)
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "LD_PRELOAD")}
    environment |= {"LD_PRELOAD": " ".join(runtimes), "ASAN_OPTIONS": "detect_leaks=0"}
    done = subprocess.run(
        [sys.executable, "-c", _SANITIZED_RUN, str(copy), str(REPO)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr[-3000:]


def test_limits_agree_with_the_python_side() -> None:
    from seccomp_gen import _fastpath, lines

    accel = _fastpath.ACCEL
    assert accel is not None
    assert accel.MAX_LINE == lines.MAX_LINE  # the C #define and the one Python definition
    # The caches differ on purpose: C's prototype cache keeps keys (65,536), Python's keeps dicts.
    assert accel.CACHE_MAX >= _reader.PROTOS_MAX >= _reader.FIELD_CACHE_MAX
