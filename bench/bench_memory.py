"""Memory under forged volume: every command's peak RSS on a flood of distinct forged processes.

    python3 bench/bench_memory.py [--processes N]     # default 1,000,000

Any local user can write syslog lines; this writes N of them, each a seccomp record of its own
process (``comm`` and ``exe`` distinct, 16 and 40 bytes), the attack issue 14 measured (1 M records:
state 215 MB, ``status`` 967 MB, ``status --json`` 1.5 GB, ``emit`` 762 MB, ``explain --summary``
1.27 GB). Then it runs, each in its own child so that ``wait4`` gives that child's own peak RSS:
``learn`` (into a new state), ``status``, ``status --json``, ``emit``, ``explain --summary``,
``explain --summary --json``, ``diff`` and ``merge`` of the state with itself (into a state and into
a profile), and prints seconds, peak RSS, and that peak over the 64 MB budget and over the same
command's peak on a baseline of 1,000 processes (what an ordinary node's log names).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

BUDGET_MB = 64.0
BASELINE = 1_000
LINE = (
    "2026-11-28T17:48:12.795875+00:00 vm kernel: [22242.881695] audit: type=1326 "
    "audit(1795888092.{ms:03d}:{serial}):"
    ' auid=4294967295 uid=0 gid=0 ses=4294967295 pid={pid} comm="f{i:015d}" exe="/tmp/forged/{i:028d}"'
    " sig=0 arch=c000003e syscall={syscall} compat=0 ip=0x40828e code=0x7ffc0000\n"
)
COMMANDS = {
    "learn": ["learn", "{log}"],
    "status": ["status"],
    "status --json": ["status", "--json"],
    "emit": ["emit", "--arch", "x86_64", "--base", "none"],
    "explain --summary": ["explain", "--summary", "{log}"],
    "explain --summary --json": ["explain", "--summary", "--json", "{log}"],
    "diff state state": ["diff", "{state}", "{state}"],
    "merge state state -o .db": ["merge", "{state}", "{state}", "--output", "{merged}"],
    "merge state state": ["merge", "{state}", "{state}", "--base", "none"],
}


def write_flood(path: Path, processes: int) -> None:
    with path.open("w") as out:
        for i in range(processes):
            out.write(LINE.format(ms=i % 1000, serial=i + 1, pid=1000 + i % 30000, i=i, syscall=i % 5))


def run(argv: list[str], state: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, exit status) of one CLI run in its own child."""
    env = {**os.environ, "SECCOMP_GEN_STATE": str(state)}
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "seccomp_gen", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - start, usage.ru_maxrss / 1024, proc.returncode


def measure(processes: int, work: Path) -> dict[str, tuple[float, float, int]]:
    log, state = work / f"flood-{processes}.log", work / f"flood-{processes}.db"
    write_flood(log, processes)
    results = {}
    for name, template in COMMANDS.items():
        argv = [arg.format(log=log, state=state, merged=work / f"merged-{processes}.db") for arg in template]
        results[name] = run(argv, state)
    results["state file"] = (0.0, state.stat().st_size / 1e6, 0)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="seccomp-gen-bench-memory-") as tmp:
        base = measure(BASELINE, Path(tmp))
        flood = measure(args.processes, Path(tmp))
    print(f"{args.processes:,} forged processes (baseline: {BASELINE:,}); budget {BUDGET_MB:.0f} MB peak RSS")
    print(f"{'command':<26} {'s':>7} {'peak MB':>8} {'/ budget':>9} {'base MB':>8} {'/ base':>7} {'rc':>3}")
    for name, (seconds, peak, code) in flood.items():
        base_peak = base[name][1]
        if name == "state file":
            print(f"{name:<26} {'':>7} {peak:>8.1f} {'':>9} {base_peak:>8.2f} {peak / base_peak:>6.0f}x")
            continue
        print(
            f"{name:<26} {seconds:>7.2f} {peak:>8.1f} {peak / BUDGET_MB:>8.2f}x {base_peak:>8.1f} "
            f"{peak / base_peak:>6.2f}x {code:>3}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
