"""Parser benchmark: our chunk parser vs a naive per-line regex loop vs ``grep -c``, with peak RSS.

    python3 bench/bench_parser.py [--lines N] [--repeat R]

Generates the corpora (bench/corpus.py, into bench/out/) when missing, then for each one runs,
each in its own subprocess so that its peak RSS (``wait4`` rusage) is its own:

- ``ours``: ``RecordParser.feed_chunk`` over ``seccomp_gen.lines.iter_chunks`` (1 MiB blocks),
- ``naive``: a per-line loop a first version would be: decode each line, one regex search for a
  record, a ``key=value`` findall, a ``SeccompEvent`` built from the fields,
- ``grep -c type=1326`` (``type=SECCOMP`` for the auditd log, whose records are named so).

It prints one table: wall-clock seconds of each child (best of R; they include the interpreter's
start and imports) and, for ours and naive, the seconds of the parsing loop alone as the child
measures it; records/s; our speed over the naive loop and our time over grep's, both ways; and peak
RSS. Targets (issue 3): >= 1 M records/s dense, >= 3.5x naive, <= 4x grep on sparse, peak RSS <= 64 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import corpus  # noqa: E402 - the repository root is put on the path just above

GREP_FOR = {"syslog-dense.log": "type=1326", "syslog-sparse.log": "type=1326", "audit.log": "type=SECCOMP"}


def run_ours(path: Path) -> int:
    """Our parser, as ``learn`` and ``explain`` drive it."""
    from seccomp_gen.events import SeccompEvent
    from seccomp_gen.lines import iter_chunks
    from seccomp_gen.records import RecordParser

    parser = RecordParser()
    records = 0
    with path.open("rb") as stream:
        for chunk in iter_chunks(stream, on_drop=lambda n: parser.count_skipped("too-long", n)):
            records += sum(1 for item in parser.feed_chunk(chunk) if isinstance(item, SeccompEvent))
    return records


_NAIVE_RECORD = re.compile(r"type=(?:1326|SECCOMP) (?:msg=)?audit\((\d+\.\d+):(\d+)\): (.*)")
_NAIVE_FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')


def run_naive(path: Path) -> int:
    """The loop one writes first: every line decoded and searched, fields into a dict."""
    from seccomp_gen.actions import decode_action
    from seccomp_gen.events import SeccompEvent, Transport

    records = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            found = _NAIVE_RECORD.search(line)
            if found is None:
                continue
            fields = dict(_NAIVE_FIELD.findall(found.group(3)))
            SeccompEvent(
                syscall=int(fields["syscall"]),
                arch=int(fields["arch"], 16),
                action=decode_action(int(fields["code"], 16)),
                timestamp=float(found.group(1)),
                serial=int(found.group(2)),
                compat=int(fields["compat"]),
                auid=int(fields["auid"]),
                uid=int(fields["uid"]),
                gid=int(fields["gid"]),
                ses=int(fields["ses"]),
                subj=fields.get("subj"),
                pid=int(fields["pid"]),
                comm=fields["comm"].strip('"'),
                exe=fields["exe"].strip('"'),
                sig=int(fields["sig"]),
                ip=int(fields["ip"], 16),
                transport=Transport.SYSLOG,
            )
            records += 1
    return records


def _measure(argv: list[str]) -> tuple[float, float, str]:
    """(wall-clock seconds, peak RSS in MB, stdout) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    proc.returncode = os.waitstatus_to_exitcode(_status)
    if proc.returncode not in (0, 1):  # grep -c exits 1 when it counts 0
        raise SystemExit(f"benchmark child failed: {argv}")
    return elapsed, usage.ru_maxrss / 1024, out


def _best(argv: list[str], repeat: int) -> tuple[float, float, str]:
    runs = [_measure(argv) for _ in range(repeat)]
    return min(run[0] for run in runs), max(run[1] for run in runs), runs[0][2]


def _best_child(argv: list[str], repeat: int) -> tuple[float, float, float, int]:
    """(best wall-clock seconds, best loop seconds, peak RSS MB, records) of a ``--child`` run."""
    runs = [_measure(argv) for _ in range(repeat)]
    reports = [json.loads(run[2]) for run in runs]
    return (
        min(run[0] for run in runs),
        min(report["seconds"] for report in reports),
        max(run[1] for run in runs),
        reports[0]["records"],
    )


def _child(kind: str, path: Path) -> int:
    start = time.perf_counter()
    records = run_ours(path) if kind == "ours" else run_naive(path)
    print(json.dumps({"records": records, "seconds": time.perf_counter() - start}))
    return 0


def main() -> int:
    """Generate the corpora if needed and print the comparison table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=corpus.LINES, help="lines per corpus (default 1 M)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best time counts")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child[0], Path(args.child[1]))
    header = (
        f"{'corpus':<18} {'lines':>9} {'records':>9} | {'ours s':>6} {'loop s':>6} {'rec/s':>9} "
        f"{'loop rec/s':>10} | {'naive s':>7} {'loop s':>6} | {'x naive':>7} {'(loop)':>6} | "
        f"{'grep s':>6} {'/ grep':>6} {'(loop)':>6} | {'RSS MB':>6} {'naive':>5}"
    )
    print(header)
    for name in corpus.CORPORA:
        path = corpus.write(name, args.lines)
        me = [sys.executable, str(Path(__file__).resolve())]
        ours_s, ours_loop, ours_mb, records = _best_child([*me, "--child", "ours", str(path)], args.repeat)
        naive_s, naive_loop, naive_mb, naive_records = _best_child(
            [*me, "--child", "naive", str(path)], args.repeat
        )
        grep_s, _grep_mb, grep_out = _best(["grep", "-c", GREP_FOR[name], str(path)], args.repeat)
        if naive_records != records or int(grep_out) != records:
            print(
                f"warning: record counts differ: ours {records}, naive {naive_records}, grep {grep_out.strip()}"
            )
        print(
            f"{name:<18} {args.lines:>9,} {records:>9,} | {ours_s:>6.2f} {ours_loop:>6.2f} "
            f"{records / ours_s:>9,.0f} {records / ours_loop:>10,.0f} | {naive_s:>7.2f} {naive_loop:>6.2f} | "
            f"{naive_s / ours_s:>6.2f}x {naive_loop / ours_loop:>5.2f}x | {grep_s:>6.2f} "
            f"{ours_s / grep_s:>5.1f}x {ours_loop / grep_s:>5.1f}x | {ours_mb:>6.1f} {naive_mb:>5.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
