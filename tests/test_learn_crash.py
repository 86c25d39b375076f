"""Issue 7, crash safety: ``kill -9`` at random points of ``seccomp-gen learn`` over a large input.

After every kill the state opens (for writing, too), holds a subset of what was fed (each learned key
is one the full input has, with at most its full count) and its saved position is inside the file; a
run without kill then converges to exactly what one clean run into a fresh state learns. A third of
the records have serial 0 (no event id), so only the saved position keeps a resumed run from counting
them twice: what was learned and where reading stopped must be committed together.

The learners are forked from this interpreter, warmed up by one run of the CLI's ``main``, and run
``main`` too, so each starts in milliseconds instead of the interpreter's second: the kills land all
over the run, from opening the state to the last batch. The reference is a full ``python -m
seccomp_gen learn`` process.
"""

from __future__ import annotations

import functools
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from seccomp_gen import learn as learn_module
from seccomp_gen.cli import main
from seccomp_gen.observations import Observation
from seccomp_gen.sources import SourceKind
from seccomp_gen.store import Store
from tests._learn_support import learn_command, record, syslog

pytestmark = pytest.mark.slow

SEED = 1326
RECORDS = 20_000
KILLS = 50  # kills of a running learner (a learner that already finished does not count)
EPISODES = 5  # each starts from a fresh state and ends with a run that is not killed
DELAY = (0.0, 0.6)  # seconds from start to kill: opening the state, reading, between and in flushes
FLUSH = 0.05  # the killed learners write a batch every 50 ms or 500 records (the CLI: 0.5 s)
BATCH = 500


def _input(path: Path) -> Path:
    rng = random.Random(SEED)
    lines = []
    for i in range(RECORDS):
        serial = 0 if i % 3 == 0 else i + 1
        comm = f"proc{rng.randrange(12)}"
        lines.append(syslog(record(rng.randrange(335), serial=serial, comm=comm, pid=1000 + i % 500)))
    path.write_text("".join(lines))
    return path


def _snapshot(state: Path) -> tuple[list[Observation], list[int]]:
    """Open the state as learn would (recovering its WAL) and read what it holds.

    The sample pid is left out: it is *a* pid of the key (the last of a batch), so it depends on
    where the batches happened to end.
    """
    with Store.open(state) as store:
        observations = [replace(o, sample_pid=None) for o in store.observations()]
        return observations, [p.offset or 0 for p in store.positions(SourceKind.FILE)]


def _fork_learner(state: Path, log: Path) -> int:
    """A child process running ``seccomp-gen learn --state STATE LOG`` (quietly); its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child, which never returns into pytest
        code = 99
        try:
            sys.stdout = sys.stderr = Path(os.devnull).open("w")  # noqa: SIM115 - the child ends with _exit
            # Small batches: many more commits per run, so many more kills land in or near one.
            options = functools.partial(learn_module.LearnOptions, flush_interval=FLUSH, batch_records=BATCH)
            setattr(learn_module, "LearnOptions", options)  # noqa: B010 - the CLI imports it at run time
            code = main(["learn", "--state", str(state), str(log)])
        finally:
            os._exit(code)
    return pid


def _wait(pid: int, seconds: float) -> int | None:
    """Wait up to ``seconds`` for the child to end: its exit status, or None while it still runs."""
    deadline = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(left, 0.005))


def test_kill_9_at_random_points_leaves_a_subset_and_a_rerun_converges(tmp_path: Path) -> None:
    log = _input(tmp_path / "syslog")
    size = log.stat().st_size
    reference_state = tmp_path / "reference.db"
    clean = subprocess.run(
        learn_command(reference_state, str(log)), capture_output=True, timeout=120, check=False
    )
    assert clean.returncode == 0, clean.stderr
    reference, _ = _snapshot(reference_state)
    full = {o.key: o.count for o in reference}
    assert sum(full.values()) == RECORDS

    warm = tmp_path / "warm.log"
    warm.write_text(syslog(record(0)))
    with Path(os.devnull).open("w") as quiet:  # the first run imports what learn needs: not in every child
        stderr, sys.stderr = sys.stderr, quiet
        try:
            assert main(["learn", "--state", str(tmp_path / "warm.db"), str(warm)]) == 0
        finally:
            sys.stderr = stderr

    rng = random.Random(SEED)
    kills = partial = finished = 0
    per_episode = -(-KILLS // EPISODES)
    for episode in range(EPISODES):
        state = tmp_path / f"state{episode}.db"
        before = 0
        episode_kills = 0
        while episode_kills < per_episode:
            pid = _fork_learner(state, log)
            status = _wait(pid, rng.uniform(*DELAY))
            if status is not None:  # it finished first: this run read the rest of the file
                assert status == 0
                finished += 1
                state.unlink()  # start again, so the kills keep landing in the middle of the work
                for leftover in tmp_path.glob(f"state{episode}.db-*"):
                    leftover.unlink()
                before = 0
                continue
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            kills += 1
            episode_kills += 1
            if not state.exists():
                continue  # killed before it created the state
            observations, offsets = _snapshot(state)
            learned = {o.key: o.count for o in observations}
            assert set(learned) <= set(full), set(learned) - set(full)
            assert all(n <= full[key] for key, n in learned.items())
            assert all(0 <= offset <= size for offset in offsets)
            now = sum(learned.values())
            if before < now < RECORDS:
                partial += 1  # this run had committed some batches, not all, when it was killed
            before = now
        pid = _fork_learner(state, log)  # the re-run, not killed
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        observations, offsets = _snapshot(state)
        assert observations == reference, f"episode {episode}: the re-run did not converge"
        assert offsets == [size]

    assert kills >= KILLS
    # The kills must really land in the middle of the work, not only before it starts or after it ends.
    assert partial >= KILLS // 5, (partial, kills, finished)
