"""Learn benchmark: ``seccomp-gen learn`` through the whole CLI, next to the parser alone and ``explain``.

    python3 bench/bench_learn.py [--lines N] [--repeat R]

Uses the corpora of bench/corpus.py (written into bench/out/learn/ when missing: dense syslog, sparse
syslog, auditd log). For each one it runs, each in its own child process so that the peak RSS
(``wait4`` rusage) is that child's own:

- ``parse``: the parser alone, as bench_parser.py's ``ours`` drives it (no CLI, no state);
- ``explain``: ``python -m seccomp_gen explain --summary FILE`` (the CLI, parsing and counting);
- ``learn``: ``python -m seccomp_gen learn --state NEW.db FILE`` into a fresh state;
- ``re-read``: ``learn --from-start`` of the same file into that state again: every record is read,
  recognised by its event id and dropped (the de-duplication path; the learned set stays the same).

It prints, per corpus, seconds (best of R), records/s, learn's time over the parser's and over
explain's, peak RSS of each, and the state file's size. The learned record count is checked against
the parser's. Interpreter start-up (about 0.25 s here) is included in every CLI figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import corpus  # noqa: E402 - the repository root is put on the path just above

OUT = corpus.OUT / "learn"  # our own copy: bench_parser.py may be reading corpus.OUT's meanwhile

_SUMMARY = re.compile(r"Read ([\d,]+) lines? from .*?: ([\d,]+) records?, ([\d,]+) counted into")


@dataclass(frozen=True, slots=True)
class Run:
    """One child process: wall time, peak RSS, what it printed."""

    seconds: float
    rss_mb: float
    stdout: str
    stderr: str


def _measure(argv: list[str], *, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` to its end; its wall time and peak RSS (``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed (exit {proc.returncode}): {argv}\n{stderr[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, stdout, stderr)


def _best(runs: list[Run]) -> Run:
    fastest = min(runs, key=lambda r: r.seconds)
    return Run(fastest.seconds, max(r.rss_mb for r in runs), fastest.stdout, fastest.stderr)


def _learned(run: Run) -> tuple[int, int]:
    """(records read, records counted) from learn's summary paragraph."""
    found = _SUMMARY.search(run.stderr)
    if found is None:
        raise SystemExit(f"cannot find learn's summary in:\n{run.stderr}")
    return int(found.group(2).replace(",", "")), int(found.group(3).replace(",", ""))


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything measured on one corpus."""

    records: int
    parse: Run
    explain: Run
    learn: Run
    reread: Run
    state_mb: float
    learned: int
    reread_learned: int


def measure(path: Path, repeat: int, workdir: Path) -> Figures:
    """Parser, explain, learn into a fresh state, and a --from-start re-read, on one corpus."""
    cli = [sys.executable, "-m", "seccomp_gen"]
    parse = _best(
        [_measure([sys.executable, str(Path(__file__)), "--child", str(path)]) for _ in range(repeat)]
    )
    records = json.loads(parse.stdout)["records"]
    explain = _best([_measure([*cli, "explain", "--summary", str(path)]) for _ in range(repeat)])
    learns, rereads = [], []
    state = workdir / "state.db"
    for _ in range(repeat):
        for leftover in workdir.glob("state.db*"):
            leftover.unlink()
        learns.append(_measure([*cli, "learn", "--state", str(state), str(path)]))
        rereads.append(_measure([*cli, "learn", "--state", str(state), "--from-start", str(path)]))
    learn, reread = _best(learns), _best(rereads)
    read, learned = _learned(learn)
    if read != records:
        print(f"warning: {path.name}: learn read {read:,} records, the parser {records:,}")
    reread_read, reread_learned = _learned(reread)
    if reread_read != records:
        print(f"warning: {path.name}: the re-read read {reread_read:,} records, the parser {records:,}")
    return Figures(
        records, parse, explain, learn, reread, state.stat().st_size / 1e6, learned, reread_learned
    )


def _child(path: Path) -> int:
    from bench.bench_parser import run_ours

    print(json.dumps({"records": run_ours(path)}))
    return 0


def _rate(records: int, run: Run) -> str:
    return f"{records / run.seconds:,.0f}"


def main() -> int:
    """Generate the corpora if needed and print the learn figures next to the parser's."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=corpus.LINES, help="lines per corpus (default 1 M)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best time counts")
    parser.add_argument("--child", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(Path(args.child))
    print(
        f"{'corpus':<18} {'records':>9} | {'parse s':>7} {'rec/s':>8} | {'explain s':>9} {'rec/s':>8} | "
        f"{'learn s':>7} {'rec/s':>8} {'/parse':>6} {'/expl':>6} | {'re-read s':>9} {'rec/s':>8} | "
        f"{'RSS MB parse/expl/learn/re-read':>31} | {'state MB':>8}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-learn-"))
    try:
        for name in corpus.CORPORA:
            path = corpus.write(name, args.lines, OUT)
            f = measure(path, args.repeat, workdir)
            rss = f"{f.parse.rss_mb:.0f}/{f.explain.rss_mb:.0f}/{f.learn.rss_mb:.0f}/{f.reread.rss_mb:.0f}"
            print(
                f"{name:<18} {f.records:>9,} | {f.parse.seconds:>7.2f} {_rate(f.records, f.parse):>8} | "
                f"{f.explain.seconds:>9.2f} {_rate(f.records, f.explain):>8} | "
                f"{f.learn.seconds:>7.2f} {_rate(f.records, f.learn):>8} "
                f"{f.learn.seconds / f.parse.seconds:>5.2f}x {f.learn.seconds / f.explain.seconds:>5.2f}x | "
                f"{f.reread.seconds:>9.2f} {_rate(f.records, f.reread):>8} | {rss:>31} | {f.state_mb:>8.2f}"
            )
            if f.learned != f.records or f.reread_learned != 0:
                print(
                    f"warning: {name}: learned {f.learned:,} of {f.records:,} records; "
                    f"the re-read counted {f.reread_learned:,} again (expected 0)"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
