"""Parser benchmark: our chunk parser vs a naive per-line regex loop vs ``grep -c``, with peak RSS.

    python3 bench/bench_parser.py [--lines N] [--repeat R]

Generates the corpora (bench/corpus.py, into bench/out/) when missing, then for each one runs,
each in its own subprocess so that its peak RSS (``wait4`` rusage) is its own:

- ``ours``: ``RecordParser.feed_chunk`` over ``seccomp_gen.lines.iter_chunks`` (256 KiB blocks), its
  hot loop in C when the accelerator is built (the line above the table says which),
- ``py``: the same with the pure-Python hot loop (``RecordParser(accelerated=False)``),
- ``naive``: a per-line loop a first version would be: decode each line, one regex search for a
  record, a ``key=value`` findall, a ``SeccompEvent`` built from the fields,
- ``grep -c type=1326`` (``type=SECCOMP`` for the auditd log, whose records are named so).

The four run in turn, R times (interleaved, so that a change in the machine's load hits all of
them alike), and the best run of each counts. Times are CPU seconds (user + system, from
``wait4``): on a shared machine they measure the work done, where wall-clock time also counts the
waits for a core. Each child's total includes the interpreter's start and imports; for ours and
naive the child also reports the CPU time of its parsing loop alone (``loop``).

It prints one table: CPU seconds (whole child, then loop), records/s by loop time, our speed over
the naive loop and our time over grep's, both ways, and peak RSS. Targets (issue 3): >= 1 M
records/s dense, >= 3.5x naive, <= 4x grep on sparse, peak RSS <= 64 MB.
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


def run_ours(path: Path, accelerated: bool | None = None) -> int:
    """Our parser, as ``learn`` and ``explain`` drive it."""
    from seccomp_gen.accel import tune_allocator
    from seccomp_gen.events import SeccompEvent
    from seccomp_gen.lines import iter_chunks
    from seccomp_gen.parse_stats import SkipReason
    from seccomp_gen.records import RecordParser

    tune_allocator()  # as the CLI does at start

    parser = RecordParser(accelerated=accelerated)
    records = 0
    with path.open("rb") as stream:
        for chunk in iter_chunks(stream, on_drop=lambda n: parser.count_skipped(SkipReason.TOO_LONG, n)):
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


class Run:
    """One child process: CPU seconds, wall-clock seconds, peak RSS and what it printed."""

    def __init__(self, argv: list[str]) -> None:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        self.wall = time.perf_counter() - start
        proc.stdout.close()
        if os.waitstatus_to_exitcode(status) not in (0, 1):  # grep -c exits 1 when it counts 0
            raise SystemExit(f"benchmark child failed: {argv}")
        self.cpu = usage.ru_utime + usage.ru_stime
        self.mb = usage.ru_maxrss / 1024
        self.out = out


class Best:
    """The best of several runs of one command: least CPU time (whole and loop), most memory."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def add(self, run: Run) -> None:
        self.runs.append(run)

    @property
    def cpu(self) -> float:
        return min(run.cpu for run in self.runs)

    @property
    def wall(self) -> float:
        return min(run.wall for run in self.runs)

    @property
    def loop(self) -> float:
        return min(float(json.loads(run.out)["seconds"]) for run in self.runs)

    @property
    def mb(self) -> float:
        return max(run.mb for run in self.runs)

    @property
    def records(self) -> int:
        counts = {int(json.loads(run.out)["records"]) if run.out.startswith("{") else int(run.out)
                  for run in self.runs}  # fmt: skip
        if len(counts) != 1:
            raise SystemExit(f"record counts differ between runs: {counts}")
        return counts.pop()


def _child(kind: str, path: Path) -> int:
    start = time.process_time()
    records = run_naive(path) if kind == "naive" else run_ours(path, None if kind == "ours" else False)
    print(json.dumps({"records": records, "seconds": time.process_time() - start}))
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
        f"{'corpus':<18} {'lines':>9} {'records':>9} | {'ours s':>6} {'loop s':>6} {'loop rec/s':>10} | "
        f"{'naive s':>7} {'loop s':>6} | {'x naive':>7} {'(loop)':>6} | {'grep s':>6} {'/ grep':>6} "
        f"{'(loop)':>6} | {'py loop':>7} {'x py':>5} | {'RSS MB':>6} {'naive':>5} {'py':>5} | {'wall s':>6}"
    )
    from seccomp_gen._fastpath import accelerator_status

    print(f"ours: {accelerator_status()}; py: pure Python")
    print(header)
    for name in corpus.CORPORA:
        path = corpus.write(name, args.lines)
        me = [sys.executable, str(Path(__file__).resolve())]
        ours, naive, grep, py = Best(), Best(), Best(), Best()
        for _ in range(args.repeat):
            ours.add(Run([*me, "--child", "ours", str(path)]))
            py.add(Run([*me, "--child", "py", str(path)]))
            naive.add(Run([*me, "--child", "naive", str(path)]))
            grep.add(Run(["grep", "-c", GREP_FOR[name], str(path)]))
        records = ours.records
        if naive.records != records or grep.records != records or py.records != records:
            print(
                f"warning: record counts differ: ours {records}, naive {naive.records}, grep {grep.records}, "
                f"py {py.records}"
            )
        print(
            f"{name:<18} {args.lines:>9,} {records:>9,} | {ours.cpu:>6.2f} {ours.loop:>6.2f} "
            f"{records / ours.loop:>10,.0f} | {naive.cpu:>7.2f} {naive.loop:>6.2f} | "
            f"{naive.cpu / ours.cpu:>6.2f}x {naive.loop / ours.loop:>5.2f}x | {grep.cpu:>6.2f} "
            f"{ours.cpu / grep.cpu:>5.1f}x {ours.loop / grep.cpu:>5.1f}x | {py.loop:>7.2f} "
            f"{py.loop / ours.loop:>4.1f}x | {ours.mb:>6.1f} {naive.mb:>5.1f} {py.mb:>5.1f} | "
            f"{ours.wall:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
