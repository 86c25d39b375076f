"""The headline flow starts the container every time: learn one run, ``emit --arch x86_64``, 50 starts.

runc's Go init calls ``futex`` (and now and then more) after it loads the filter in only some starts,
so a profile of exactly what one recording showed failed 8-20 % of starts here. ``--base auto``, the
default, sees ``runc:[2:INIT]`` in the records and adds the set measured for the installed runc. Two
workloads: the http one (``noNewPrivileges``, as ``runc spec`` writes it) and a file one without
``noNewPrivileges`` (as Podman runs containers, where runc makes more calls under the filter).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from seccomp_gen.sandbox import KmsgTap
from tests.e2e.bundle import AUDIT_PROFILE, Bundle, build_bundle, expected_output
from tests.e2e.conftest import allowed_names, seccomp_gen
from tests.realpath import need_program

pytestmark = [pytest.mark.realpath, pytest.mark.usefixtures("printk_unlimited")]

STARTS = 50
FILE_WORK = [
    "/bin/sh",
    "-c",
    "mkdir -p /tmp/d && for i in 1 2 3; do echo line$i > /tmp/d/f$i; done; "
    "cat /tmp/d/f1 /tmp/d/f2 /tmp/d/f3; ls /tmp/d; cp /tmp/d/f1 /tmp/d/g; sha256sum /tmp/d/g; rm -r /tmp/d",
]
WORKLOADS = {
    "http-no-new-privileges": (None, True),
    "files-privileged-start": (FILE_WORK, False),
}


def _record(bundle: Bundle, out: Path) -> str:
    """One run under the tutorial's audit.json; its own records (by audit session) written to ``out``."""
    tap = KmsgTap()
    tap.start()
    try:
        bundle.set_seccomp(AUDIT_PROFILE)
        done, session = bundle.run_in_session()
        time.sleep(0.5)  # its last records reach the log
    finally:
        records, losses = tap.stop()
    assert done.returncode == 0, done.stderr
    assert session is not None, "no audit session: the records could not be told from other work's"
    assert not losses, f"the kernel log lost records while recording: {losses}"
    mine = [record.line for record in records if record.event.ses == session]
    assert any(b'comm="runc:[2:INIT]"' in line for line in mine)
    out.write_bytes(b"".join(mine))
    return done.stdout


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_the_headline_profile_starts_the_container_every_time(
    real_host: None, tmp_path: Path, workload: str
) -> None:
    bundle = build_bundle(tmp_path / "bundle", busybox=need_program("busybox"), runc=need_program("runc"))
    args, nnp = WORKLOADS[workload]
    bundle.set_process(args or ["/bin/sh", "/bin/workload.sh"], no_new_privileges=nnp)
    recorded = _record(bundle, tmp_path / "records.kmsg")
    if args is None:
        assert recorded == expected_output()
    state = tmp_path / "state.db"
    learned = seccomp_gen("learn", str(tmp_path / "records.kmsg"), state=state, check=False)
    assert learned.returncode == 0, learned.stderr
    emitted = seccomp_gen("emit", "--arch", "x86_64", state=state, check=False)
    assert emitted.returncode == 0, emitted.stderr
    assert "--base auto: records of runc:[2:INIT] show that runc started the container" in emitted.stderr
    profile = json.loads(emitted.stdout)
    assert "futex" in allowed_names(profile)
    bundle.set_seccomp(profile)
    failures = []
    for start in range(STARTS):
        done = bundle.run()
        if done.returncode != 0 or done.stdout != recorded:
            failures.append(f"start {start}: rc {done.returncode}: {done.stderr.strip()[-300:]}")
    assert failures == [], f"{len(failures)} of {STARTS} starts failed:\n" + "\n".join(failures)
