"""Two runc containers at once, one kernel log: each profile is its own container's (issue 15, item 5).

Container A calls ``ioprio_set`` (``ionice -c 3``), B calls ``setsid``; neither calls the other's. Both
run together under the tutorial's audit.json while ``learn --kmsg --follow`` (and, second, ``tail -n0 -F
/var/log/syslog | learn`` with rsyslogd) reads the log. ``emit --container A`` must allow A's call and
not B's, and start A 20 times of 20. Each workload is one process from runc's init to its end (the
applets exec ``sleep``; B's shell waits for its one child), so every record's process is alive when the
learner looks it up.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from seccomp_gen.abi import get_abi
from seccomp_gen.syscalls import syscall_number
from tests.e2e.bundle import AUDIT_PROFILE, Bundle, build_bundle, unique_id
from tests.e2e.conftest import Learner, allowed_names, quiet_syslog_tail, seccomp_gen, wait_for
from tests.realpath import need_program

pytestmark = [pytest.mark.realpath, pytest.mark.usefixtures("printk_unlimited")]

WORKLOADS = {
    "a": (["/bin/ionice", "-c", "3", "/bin/sleep", "1.5"], "ioprio_set"),
    # setsid forks when it leads its process group (as a container's pid 1 does) and the namespace ends
    # with its pid 1: started by a shell, which waits, it calls setsid itself and execs sleep.
    "b": (["/bin/sh", "-c", "/bin/setsid /bin/sleep 1.5; /bin/sleep 0.2"], "setsid"),
}
STARTS = 20


def _bundles(tmp: Path) -> dict[str, Bundle]:
    bundles = {}
    for name, (args, _) in WORKLOADS.items():
        bundle = build_bundle(tmp / name, busybox=need_program("busybox"), runc=need_program("runc"))
        for applet in ("ionice", "setsid"):
            (bundle.path / "rootfs" / "bin" / applet).symlink_to("busybox")
        bundle.set_process(args)
        bundle.set_seccomp(AUDIT_PROFILE)
        bundles[name] = bundle
    return bundles


def _run_together(bundles: dict[str, Bundle], ids: dict[str, str]) -> None:
    results: dict[str, int] = {}

    def start(name: str) -> None:
        results[name] = bundles[name].run(container=ids[name]).returncode

    threads = [threading.Thread(target=start, args=(name,)) for name in bundles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == dict.fromkeys(bundles, 0)


def _containers(state: Path) -> set[str]:
    try:
        db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
        try:
            return {row[0] for row in db.execute("SELECT DISTINCT container FROM observations")}
        finally:
            db.close()
    except sqlite3.Error:
        return set()


def _check_profiles(state: Path, bundles: dict[str, Bundle], ids: dict[str, str], tmp: Path) -> None:
    abi = get_abi("x86_64")
    for name, (_, own) in WORKLOADS.items():
        other = next(call for key, (_, call) in WORKLOADS.items() if key != name)
        profile = json.loads(seccomp_gen("emit", "--state", str(state), "--container", ids[name]).stdout)
        allowed = allowed_names(profile)
        assert own in allowed, f"{name}'s own {own} is missing"
        assert other not in allowed, f"{name}'s profile has the other container's {other}"
        syscall_number(abi, own)  # a real name on this ABI
        if name == "a":
            bundles[name].set_seccomp(profile)
            failed = [bundles[name].run().returncode for _ in range(STARTS)]
            assert failed == [0] * STARTS


def test_kmsg_learner_keeps_two_concurrent_containers_apart(tmp_path: Path) -> None:
    bundles = _bundles(tmp_path)
    ids = {name: unique_id(f"sg-{name}") for name in bundles}
    state = tmp_path / "state.db"
    since = f"{time.time() + 0.3:.3f}"
    learner = Learner(
        [
            sys.executable,
            "-m",
            "seccomp_gen",
            "learn",
            "--kmsg",
            "--follow",
            "--since",
            since,
            "--state",
            str(state),
        ]
    )
    time.sleep(1.0)
    _run_together(bundles, ids)
    wanted = {f"runc:{ids['a']}", f"runc:{ids['b']}"}
    wait_for(lambda: wanted <= _containers(state), "both containers in the state")
    time.sleep(1.0)
    code, err = learner.stop()
    assert code in (0, 130), err
    _check_profiles(state, bundles, ids, tmp_path)
    status = seccomp_gen("status", "--state", str(state)).stdout
    assert f"runc:{ids['a']}:" in status


def test_syslog_pipe_learner_keeps_two_concurrent_containers_apart(rsyslog: Path, tmp_path: Path) -> None:
    bundles = _bundles(tmp_path)
    ids = {name: unique_id(f"sg-{name}") for name in bundles}
    state = tmp_path / "state.db"
    quiet_syslog_tail(rsyslog)
    learner = Learner(
        f"tail -n0 -F {rsyslog} | {sys.executable} -m seccomp_gen learn --state {state}", shell=True
    )
    time.sleep(1.0)
    _run_together(bundles, ids)
    wanted = {f"runc:{ids['a']}", f"runc:{ids['b']}"}
    wait_for(lambda: wanted <= _containers(state), "both containers in the state")
    time.sleep(1.0)
    learner.stop()
    _check_profiles(state, bundles, ids, tmp_path)
