"""Long fuzzing run: rounds of the hypothesis properties with fresh seeds until the time is up.

    python3 bench/fuzz.py                  # 10 minutes, budgets x10 per round
    python3 bench/fuzz.py --minutes 60 --scale 40

Each round runs tests/test_fuzz.py and tests/test_records_fuzz.py under ``SECCOMP_GEN_FUZZ=long``
with a new ``--hypothesis-seed``; a failing round's output is kept in ``bench/out/fuzz-SEED.log``
and its falsifying examples in hypothesis' database (``.hypothesis/``), which replays them first in
every later run. Prints one line per round and a summary; exits 1 when any round failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
FILES = ["tests/test_fuzz.py", "tests/test_records_fuzz.py"]


def _round(seed: int, scale: int) -> tuple[bool, str, float]:
    env = dict(os.environ, SECCOMP_GEN_FUZZ="long", SECCOMP_GEN_FUZZ_SCALE=str(scale))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--hypothesis-seed={seed}"]
    started = time.monotonic()
    done = subprocess.run(
        [*argv, "--hypothesis-show-statistics", *FILES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0, done.stdout + done.stderr, time.monotonic() - started


def _examples(output: str) -> int:
    """Examples run in a round, from hypothesis' statistics (``- 123 passing examples``)."""
    return sum(int(n) for n in re.findall(r"- (\d+) passing examples", output))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="stop starting rounds after this long")
    parser.add_argument("--scale", type=int, default=10, help="example budgets times this per round")
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    rounds = failed = examples = 0
    while time.monotonic() < deadline:
        seed = random.SystemRandom().getrandbits(64)
        ok, output, seconds = _round(seed, args.scale)
        rounds += 1
        examples += _examples(output)
        summary = output.strip().splitlines()[-1] if output.strip() else "no output"
        print(f"round {rounds}: seed {seed}: {seconds:.0f} s: {summary}", flush=True)
        if not ok:
            failed += 1
            OUT.mkdir(parents=True, exist_ok=True)
            log = OUT / f"fuzz-{seed}.log"
            log.write_text(output)
            print(f"  failed: {log}", flush=True)
    print(f"{rounds} rounds, {examples} passing examples, {failed} failed round(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
