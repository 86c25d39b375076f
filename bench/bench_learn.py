"""Learn benchmark: ``seccomp-gen learn`` as a whole process, as ratios to the bare parser and to others.

    python3 bench/bench_learn.py [--lines N] [--repeat R] [--scale LINES] [--callgrind LINES]

Uses the corpora of bench/corpus.py (written into bench/out/learn/ when missing): dense, sparse and
varied syslog, auditd's log, journal JSON and AppArmor-only lines. For each one it runs, in turn
and R times (the best run of each counts), each in its own child so that its CPU time and peak RSS
(``wait4`` rusage) are its own:

- ``parse``: the bare parser, as bench_parser.py's ``ours`` drives it (no CLI, no state);
- ``learn``: ``python -m seccomp_gen learn --state NEW.db FILE`` into a fresh state;
- ``re-read``: ``learn --from-start`` of the same file into that state again: every record is read,
  found among the event ids the state holds and dropped (the count it learned must be 0);
- ``naive``: bench_parser.py's per-line regex loop; ``grep -c``; and on auditd's logs
  ``ausearch -m SECCOMP --raw -if FILE`` (auditd's own tool; the daemon is not needed).

``net`` is learn over parse with each one's CPU time on an empty file taken off first (the start
line shows those): on a corpus with few records the whole-process ratio is mostly start-up. The
package is byte-compiled first, as an installed one is.

Times are CPU seconds (user + system) of the whole child, interpreter start included (about 0.1 s):
on a shared VM they measure the work done, where wall-clock time also counts waits for a core.
``--scale`` learns and re-reads a dense corpus of that many lines (5 M: the scaling target);
``--callgrind`` counts instructions (valgrind) of parse and learn over that many dense lines, less
their count on an empty file: instructions a line, which the host's load does not change.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import corpus  # noqa: E402 - the repository root is put on the path just above

OUT = corpus.OUT / "learn"  # our own copy: bench_parser.py may be reading corpus.OUT's meanwhile
GREP_FOR = {"audit.log": "type=SECCOMP", "audit-dense.log": "type=SECCOMP", "other-types.log": "type=1326"}
_SUMMARY = re.compile(r"Read ([\d,]+) lines? from .*?: ([\d,]+) records?, ([\d,]+) counted into")
_IR = re.compile(rb"^summary: (\d+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Run:
    """One child process: CPU seconds, peak RSS, what it printed."""

    cpu: float
    rss_mb: float
    stdout: str
    stderr: str


def measure(argv: list[str]) -> Run:
    """Run ``argv`` to its end: its CPU time and peak RSS (``wait4``), and the last 64 KiB it printed.

    Only the tail is read back: ausearch prints every record (150 MB on audit-dense.log), and this
    process's own RSS is where a child's peak starts (Linux counts the parent's at fork)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        stdout, stderr = _tail(out), _tail(err)
    if code not in (0, 1):  # grep -c exits 1 when it counts 0
        raise SystemExit(f"benchmark child failed (exit {code}): {argv}\n{stderr[-2000:]}")
    return Run(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, stderr)


def _tail(handle: IO[bytes], size: int = 64 * 1024) -> str:
    handle.seek(0, os.SEEK_END)
    handle.seek(max(handle.tell() - size, 0))
    return handle.read().decode(errors="replace")


def best(runs: list[Run]) -> Run:
    """The run with the least CPU time, with the highest peak RSS of all."""
    fastest = min(runs, key=lambda r: r.cpu)
    return Run(fastest.cpu, max(r.rss_mb for r in runs), fastest.stdout, fastest.stderr)


def learned(run: Run) -> tuple[int, int]:
    """(records read, records counted) from learn's summary paragraph."""
    found = _SUMMARY.search(run.stderr)
    if found is None:
        raise SystemExit(f"cannot find learn's summary in:\n{run.stderr}")
    return int(found.group(2).replace(",", "")), int(found.group(3).replace(",", ""))


CLI = [sys.executable, "-m", "seccomp_gen"]


def _child(kind: str, path: Path) -> list[str]:
    return [sys.executable, str(Path(__file__)), f"--{kind}-child", str(path)]


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything measured on one corpus."""

    lines: int
    records: int
    parse: Run
    learn: Run
    reread: Run
    naive: Run
    grep: Run
    ausearch: Run | None
    state_mb: float
    counted: int
    recounted: int


@dataclass(frozen=True, slots=True)
class Startup:
    """CPU seconds of parse and learn on an empty file: the interpreter, the imports, a new state."""

    parse: float
    learn: float

    def net(self, f: Figures) -> float:
        """learn over the bare parser, each less its start: the ratio of the work a line."""
        return (f.learn.cpu - self.learn) / max(f.parse.cpu - self.parse, 1e-9)


def startup(repeat: int, workdir: Path) -> Startup:
    """The best of ``repeat`` runs of parse and learn on an empty file."""
    empty = workdir / "empty.log"
    empty.write_bytes(b"")
    parse = min(measure(_child("parse", empty)).cpu for _ in range(max(repeat, 3)))
    learn = min(
        measure([*CLI, "learn", "--state", str(_fresh(workdir)), str(empty)]).cpu
        for _ in range(max(repeat, 3))
    )
    return Startup(parse, learn)


def written(name: str, lines: int, out: Path) -> Path:
    """``corpus.write`` in a child: a child's peak RSS counts its parent's at fork; this one stays small."""
    subprocess.run(
        [sys.executable, str(HERE / "corpus.py"), "--lines", str(lines), "--out", str(out), "--only", name],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return out / name


def _fresh(workdir: Path) -> Path:
    for leftover in workdir.glob("state.db*"):
        leftover.unlink()
    return workdir / "state.db"


def figures(path: Path, lines: int, repeat: int, workdir: Path) -> Figures:
    """Every child on one corpus, in turn, ``repeat`` times."""
    runs: dict[str, list[Run]] = {name: [] for name in ("parse", "learn", "reread", "naive", "grep", "aus")}
    ausearch = shutil.which("ausearch") if path.name.startswith("audit") else None
    for _ in range(repeat):
        runs["parse"].append(measure(_child("parse", path)))
        state = _fresh(workdir)
        runs["learn"].append(measure([*CLI, "learn", "--state", str(state), str(path)]))
        runs["reread"].append(measure([*CLI, "learn", "--state", str(state), "--from-start", str(path)]))
        runs["naive"].append(measure(_child("naive", path)))
        runs["grep"].append(measure(["grep", "-c", GREP_FOR.get(path.name, "type=1326"), str(path)]))
        if ausearch is not None:
            runs["aus"].append(measure([ausearch, "-m", "SECCOMP", "--raw", "-if", str(path)]))
    parse, learn, reread = best(runs["parse"]), best(runs["learn"]), best(runs["reread"])
    records = int(json.loads(parse.stdout)["records"])
    read, counted = learned(learn)
    reread_read, recounted = learned(reread)
    if read != records or reread_read != records:
        print(
            f"warning: {path.name}: learn read {read:,} and {reread_read:,} records, the parser {records:,}"
        )
    return Figures(
        lines, records, parse, learn, reread, best(runs["naive"]), best(runs["grep"]),
        best(runs["aus"]) if runs["aus"] else None, (workdir / "state.db").stat().st_size / 1e6, counted,
        recounted,
    )  # fmt: skip


HEADER = (
    f"{'corpus':<18} {'records':>9} | {'parse s':>7} {'learn s':>7} {'rec/s':>9} {'lines/s':>9} | "
    f"{'/parse':>6} {'net':>5} {'/naive':>6} {'/grep':>6} {'/ausrch':>7} | {'re-read s':>9} {'again':>5} | "
    f"{'RSS MB learn/re':>15} {'state MB':>8}"
)


def row(name: str, f: Figures, start: Startup) -> str:
    """One corpus's line of the table."""
    aus = f"{f.learn.cpu / f.ausearch.cpu:>6.2f}x" if f.ausearch is not None else f"{'-':>7}"
    return (
        f"{name:<18} {f.records:>9,} | {f.parse.cpu:>7.2f} {f.learn.cpu:>7.2f} "
        f"{f.records / f.learn.cpu:>9,.0f} {f.lines / f.learn.cpu:>9,.0f} | "
        f"{f.learn.cpu / f.parse.cpu:>5.2f}x {start.net(f):>4.2f}x {f.learn.cpu / f.naive.cpu:>5.2f}x "
        f"{f.learn.cpu / f.grep.cpu:>5.1f}x "
        f"{aus} | {f.reread.cpu:>9.2f} {f.recounted:>5,} | "
        f"{f'{f.learn.rss_mb:.0f}/{f.reread.rss_mb:.0f}':>15} {f.state_mb:>8.2f}"
    )


def scale(lines: int, workdir: Path) -> None:
    """Learn and re-read a dense corpus of ``lines`` lines: speed and memory stay flat."""
    out = OUT / f"scale-{lines}"
    path = written("syslog-dense.log", lines, out)
    state = _fresh(workdir)
    learn = measure([*CLI, "learn", "--state", str(state), str(path)])
    reread = measure([*CLI, "learn", "--state", str(state), "--from-start", str(path)])
    read, counted = learned(learn)
    _again, recounted = learned(reread)
    print(
        f"scale: {lines:,} dense lines: learn {learn.cpu:.2f} s ({read / learn.cpu:,.0f} records/s, "
        f"{counted:,} counted, peak RSS {learn.rss_mb:.0f} MB); --from-start re-read {reread.cpu:.2f} s, "
        f"{recounted:,} counted again, peak RSS {reread.rss_mb:.0f} MB; "
        f"state {state.stat().st_size / 1e6:.2f} MB"
    )


def _instructions(argv: list[str], workdir: Path) -> int:
    out = workdir / "callgrind.out"
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    found = _IR.search(out.read_bytes())
    out.unlink()
    if found is None:
        raise SystemExit("callgrind wrote no summary")
    return int(found.group(1))


def callgrind(lines: int, workdir: Path) -> None:
    """Instructions a line of parse and of learn (each less its count on an empty file)."""
    if shutil.which("valgrind") is None:
        print("callgrind: valgrind is not installed (apt-get install valgrind)")
        return
    dense = written("syslog-dense.log", corpus.LINES, OUT)
    sample, empty = workdir / "sample.log", workdir / "empty.log"
    with dense.open("rb") as src, sample.open("wb") as dst:
        for _ in range(lines):
            dst.write(src.readline())
    empty.write_bytes(b"")
    counts = {}
    for name in ("parse", "learn"):

        def argv(path: Path, name: str = name) -> list[str]:
            if name == "parse":
                return _child("parse", path)
            return [*CLI, "learn", "--state", str(_fresh(workdir)), str(path)]

        counts[name] = (_instructions(argv(sample), workdir) - _instructions(argv(empty), workdir)) / lines
    print(
        f"callgrind: {lines:,} dense lines: parse {counts['parse']:,.0f} instructions a line, learn "
        f"{counts['learn']:,.0f} ({counts['learn'] / counts['parse']:.2f}x)"
    )


def main() -> int:
    """Write the corpora if needed and print the table (and the scaling and instruction lines)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=corpus.LINES, help="lines per corpus (default 1 M)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best counts")
    parser.add_argument(
        "--scale", type=int, default=0, metavar="LINES", help="also learn this many dense lines"
    )
    parser.add_argument("--callgrind", type=int, default=0, metavar="LINES", help="count instructions a line")
    parser.add_argument("--only", action="append", default=[], help="corpus names to run (default all)")
    parser.add_argument("--parse-child", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--naive-child", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from bench.bench_parser import run_naive, run_ours

    if args.parse_child:
        print(json.dumps({"records": run_ours(Path(args.parse_child))}))
        return 0
    if args.naive_child:
        print(json.dumps({"records": run_naive(Path(args.naive_child))}))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-learn-"))
    # What an installed package runs from: its modules compiled once (PYTHONDONTWRITEBYTECODE, set on
    # some machines, would have every child compile them again: 50 ms of each start here).
    compileall.compile_dir(HERE.parent / "seccomp_gen", quiet=1)
    try:
        start = startup(args.repeat, workdir)
        print(f"start (an empty file): parse {start.parse:.2f} s, learn {start.learn:.2f} s CPU")
        print(HEADER)
        for name in args.only or list(corpus.CORPORA):
            path = written(name, args.lines, OUT)
            print(row(name, figures(path, args.lines, args.repeat, workdir), start), flush=True)
        if args.scale:
            scale(args.scale, workdir)
        if args.callgrind:
            callgrind(args.callgrind, workdir)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(this script's own peak RSS, which a child's at its fork includes: {own:.0f} MB)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
