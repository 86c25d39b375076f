"""What container attribution costs ``learn``: records/s with and without the /proc lookups.

    python3 bench/bench_attribution.py [--records N] [--processes P] [--repeat R]

Writes N syslog records stamped now (so that learn treats them as live and looks their processes up),
spread over P pids of processes that exist while it runs (``sleep`` children it starts), and learns them
into a new state twice in this process: with attribution (``LearnOptions(attribute=True)``, the default)
and without. It prints the CPU seconds of each (best of R), records/s, the ratio, and how many /proc
lookups attribution made: one per (pid, comm, exe), never one per record.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from seccomp_gen.inputs import SourceSpec  # noqa: E402
from seccomp_gen.learn import LearnOptions, learn  # noqa: E402
from seccomp_gen.store import Store  # noqa: E402

LINE = (
    "2026-12-03T07:00:00.000000+00:00 vm kernel: [1.0] audit: type=1326 audit({ts:.3f}:{serial}): "
    'auid=4294967295 uid=0 gid=0 ses=4294967295 pid={pid} comm="sleep" exe="/usr/bin/sleep" sig=0 '
    "arch=c000003e syscall={syscall} compat=0 ip=0x40828e code=0x7ffc0000\n"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--processes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    children = [subprocess.Popen(["sleep", "600"]) for _ in range(args.processes)]
    try:
        with tempfile.TemporaryDirectory(prefix="seccomp-gen-bench-attribution-") as tmp:
            log = Path(tmp) / "live.log"
            now = time.time()
            with log.open("w") as out:
                for i in range(args.records):
                    pid = children[i % len(children)].pid
                    out.write(LINE.format(ts=now, serial=i + 1, pid=pid, syscall=i % 40))
            results = {}
            lookups = 0
            for attribute in (False, True):
                best = float("inf")
                for run in range(args.repeat):
                    state = Path(tmp) / f"state-{attribute}-{run}.db"
                    with Store.open(state) as store:
                        start = time.process_time()
                        result = learn(store, SourceSpec(files=(log,)), LearnOptions(attribute=attribute))
                        best = min(best, time.process_time() - start)
                    assert result.learned == args.records, result
                    lookups = result.lookups
                results[attribute] = best
    finally:
        for child in children:
            child.kill()
            child.wait()
    off, on = results[False], results[True]
    print(
        f"{args.records:,} live records over {args.processes} processes; CPU seconds, best of {args.repeat}"
    )
    print(f"without attribution  {off:6.2f} s  {args.records / off:>10,.0f} records/s")
    print(f"with attribution     {on:6.2f} s  {args.records / on:>10,.0f} records/s  ({on / off:.2f}x)")
    print(f"/proc lookups: {lookups} (one per process, not per record)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
