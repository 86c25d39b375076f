"""Issue 15: records attributed to containers through /proc/PID/cgroup; the state keeps them apart."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from seccomp_gen.containers import Attributor, Container, cgroup_path, classify, container_matches
from seccomp_gen.schema import SCHEMA_VERSION
from seccomp_gen.store import Store
from tests.test_emit import make_state, run
from tests.test_profile import obs

DATA = Path(__file__).parent / "data"
ID = "4329079ab36c2a029dd87e9b56b8995348c0d938289de92b1f109924b4954da1"
UID = "8d3a0c51-5f1e-4c5b-9a2e-0f6f4d1c2b7a"

# This machine's hybrid layout for a plain runc container (seen): the memory line sits under the VM's own
# /process_api cgroup and must not decide.
RUNC_HYBRID = """9:name=systemd:/web-1
8:pids:/web-1
4:memory:/process_api/8767289ae7c86dc7b093ba5011b9363f/web-1
1:cpu:/web-1
0::/web-1
"""
PODMAN_CGROUPFS = "\n".join(
    f"{n}:{c}:/libpod_parent/libpod-{ID}" for n, c in ((9, "name=systemd"), (8, "pids"), (0, ""))
)
HOST_HYBRID = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/8767289ae7c86dc7b093ba5011b9363f\n0::/\n"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        pytest.param(RUNC_HYBRID, "/web-1", id="runc-hybrid-seen"),
        pytest.param(PODMAN_CGROUPFS, f"/libpod_parent/libpod-{ID}", id="podman-cgroupfs-seen"),
        pytest.param(HOST_HYBRID, "/", id="host-hybrid-seen"),
        pytest.param(
            f"0::/system.slice/docker-{ID}.scope\n", f"/system.slice/docker-{ID}.scope", id="v2-only"
        ),
        pytest.param(f"12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n", f"/docker/{ID}", id="v1-only"),
        pytest.param("garbage\n\n", None, id="malformed"),
    ],
)
def test_the_placing_cgroup_line_is_chosen(text: str, path: str | None) -> None:
    assert cgroup_path(text) == path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(f"/libpod_parent/libpod-{ID}", Container("podman", ID), id="podman-cgroupfs"),
        pytest.param(f"/machine.slice/libpod-{ID}.scope", Container("podman", ID), id="podman-systemd"),
        pytest.param(
            f"/machine.slice/libpod-{ID}.scope/container", Container("podman", ID), id="podman-nested"
        ),
        pytest.param(f"/docker/{ID}", Container("docker", ID), id="docker-cgroupfs"),
        pytest.param(f"/system.slice/docker-{ID}.scope", Container("docker", ID), id="docker-systemd"),
        pytest.param(
            f"/kubepods/burstable/pod{UID}/{ID}",
            Container("containerd", ID, UID, "burstable"),
            id="cri-cgroupfs",
        ),
        pytest.param(
            f"/kubepods/pod{UID}/{ID}", Container("containerd", ID, UID, "guaranteed"), id="cri-guaranteed"
        ),
        pytest.param(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
            f"{UID.replace('-', '_')}.slice/cri-containerd-{ID}.scope",
            Container("containerd", ID, UID, "besteffort"),
            id="cri-containerd-systemd",
        ),
        pytest.param(
            f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID.replace('-', '_')}.slice/"
            f"crio-{ID}.scope",
            Container("cri-o", ID, UID, "burstable"),
            id="cri-o-systemd",
        ),
        pytest.param("/system.slice/cron.service", Container("systemd", "cron.service"), id="systemd-unit"),
        pytest.param("/user.slice/user-0.slice/session-3.scope", Container("host"), id="user-session"),
        pytest.param("/", Container("host"), id="root"),
        pytest.param("/process_api/8767289ae7c86dc7b093ba5011b9363f", Container("host"), id="no-runc-state"),
    ],
)
def test_layouts_are_classified(path: str, expected: Container, tmp_path: Path) -> None:
    assert classify(path, runc_state=tmp_path) == expected


def test_plain_runc_needs_runcs_own_state_directory(tmp_path: Path) -> None:
    assert classify("/web-1", runc_state=tmp_path) == Container("host")
    (tmp_path / "web-1").mkdir()
    assert classify("/web-1", runc_state=tmp_path).label == "runc:web-1"


def _proc(root: Path, pid: int, *, cgroup: str | None, start_ticks: int = 100, comm: str = "sh") -> None:
    base = root / str(pid)
    base.mkdir(parents=True)
    fields = ["S", *["0"] * 18, str(start_ticks), *["0"] * 10]
    (base / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)}\n")
    if cgroup is not None:
        (base / "cgroup").write_text(cgroup)


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    (root / "2").mkdir(parents=True)
    (root / "2" / "comm").write_text("kthreadd\n")
    (root / "stat").write_text("cpu 1 2 3\nbtime 1000\n")
    return root


def test_attributor_reads_each_process_once_and_guards_reuse(proc: Path, tmp_path: Path) -> None:
    state = tmp_path / "runc"
    (state / "web-1").mkdir(parents=True)
    _proc(proc, 10, cgroup=RUNC_HYBRID, start_ticks=100)  # started at 1000 + 100/ticks
    _proc(proc, 11, cgroup=PODMAN_CGROUPFS, start_ticks=10**9)  # started long after the records
    (proc / "12").mkdir()
    (proc / "12" / "stat").mkdir()  # unreadable as a file
    _proc(proc, 13, cgroup="nonsense\n")
    attributor = Attributor(proc=proc, runc_state=state, clock=lambda: 2000.0)
    first = attributor.attribute(10, "sh", "/bin/sh", 1999.0)
    assert first.container is not None
    assert first.container.label == "runc:web-1"
    for _ in range(100):
        assert attributor.attribute(10, "sh", "/bin/sh", 1999.5) == first
    assert attributor.lookups == 1
    assert attributor.attribute(11, "sh", "/bin/sh", 1999.0).reason == "pid-reused"
    assert attributor.attribute(12, "sh", "/bin/sh", 1999.0).reason == "proc-unreadable"
    assert attributor.attribute(13, "sh", "/bin/sh", 1999.0).reason == "malformed-cgroup"
    assert attributor.attribute(14, "sh", "/bin/sh", 1999.0).reason == "process-gone"
    assert attributor.attribute(10, "sh", "/bin/sh", 1000.0).reason == "read-after-the-fact"
    assert attributor.attribute(None, "sh", "/bin/sh", 1999.0).reason == "no-pid"


def test_another_pid_namespace_attributes_nothing(proc: Path) -> None:
    (proc / "2" / "comm").write_text("sh\n")  # pid 2 is not kthreadd: not the initial namespace
    _proc(proc, 10, cgroup=RUNC_HYBRID)
    assert Attributor(proc=proc, clock=lambda: 2000.0).attribute(10, "sh", "", 1999.0).reason == (
        "other-pid-namespace"
    )


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("runc:web-1", True),
        ("web-1", True),
        ("web", True),
        ("web-*", True),
        ("runc:*", True),
        ("podman:*", False),
        ("db", False),
    ],
)
def test_container_patterns(pattern: str, matches: bool) -> None:
    assert container_matches("runc:web-1", (pattern,)) is matches
    assert not container_matches("", (pattern,))


# --- the state ------------------------------------------------------------------------------------


def test_a_state_of_the_previous_release_migrates_keeping_every_row(tmp_path: Path) -> None:
    """tests/data/state-v2.db: the shipped recording learned by the release before containers (schema 2)."""
    old = DATA / "state-v2.db"
    copy = tmp_path / "state.db"
    shutil.copyfile(old, copy)
    copy.chmod(0o600)
    db = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
    before = sorted(db.execute("SELECT abi, number, comm, exe, action, trusted, count FROM observations"))
    ids = int(db.execute("SELECT count(*) FROM event_ids").fetchone()[0])
    db.close()
    assert len(before) > 50
    assert ids > 50
    with Store.open(copy, readonly=True) as store:  # a reader sees it as it is, unattributed
        assert store.schema_version == 2
        assert store.event_id_count() == ids
        assert {o.container for o in store.observations()} == {""}
    with Store.open(copy) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        assert store.event_id_count() == ids  # moved into blobs (schema 4), every one
        after = sorted(
            (o.abi, o.number, o.comm, o.exe, o.action, int(o.trusted), o.count) for o in store.observations()
        )
        assert {o.container for o in store.observations()} == {""}
    assert after == before


def test_status_and_emit_keep_containers_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen = [
        obs("x86_64", 0, "read", count=5, container="runc:web-1"),
        obs("x86_64", 162, "sync", count=5, container="runc:web-1"),
        obs("x86_64", 0, "read", count=5, container="runc:db-1", pod=UID),
        obs("x86_64", 141, "setpriority", count=5, container="runc:db-1", pod=UID),
        obs("x86_64", 1, "write", count=5),  # read from a file: not attributed
    ]
    state = make_state(tmp_path / "s.db", seen)
    code, out, _ = run(capsys, "status", "--state", str(state))
    assert code == 0
    assert "  runc:web-1: 2 syscalls, 10 records, 1 process" in out
    assert f"  runc:db-1 pod {UID}: 2 syscalls, 10 records, 1 process" in out
    assert "  (not attributed): 1 syscall, 5 records, 1 process" in out
    doc = json.loads(run(capsys, "status", "--state", str(state), "--json")[1])
    assert {c["container"] for c in doc["containers"]} == {"runc:web-1", "runc:db-1", ""}

    def allowed(*args: str) -> set[str]:
        code, out, err = run(
            capsys, "emit", "--state", str(state), "--base", "none", "--enosys", "none", *args
        )
        assert code == 0, err
        return {n for r in json.loads(out)["syscalls"] for n in r["names"]}

    assert allowed("--container", "web-1") == {"read", "sync"}
    assert allowed("--container", "runc:db-*") == {"read", "setpriority"}
    assert allowed("--pod", UID[:8]) == {"read", "setpriority"}
    code, out, err = run(capsys, "emit", "--state", str(state), "--container", "nope")
    assert code == 2
    assert out == ""
    assert err.startswith(
        "error: nothing to emit: no observation of nope; the state has containers runc:db-1"
    )


def test_status_diff_and_merge_take_the_container_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = [
        obs("x86_64", 0, "read", count=5, container="runc:web-1"),
        obs("x86_64", 162, "sync", count=5, container="runc:web-1"),
        obs("x86_64", 141, "setpriority", count=5, container="runc:db-1"),
    ]
    state = make_state(tmp_path / "s.db", seen)
    doc = json.loads(run(capsys, "status", "--state", str(state), "--json", "--container", "web-1")[1])
    assert [c["container"] for c in doc["containers"]] == ["runc:web-1"]
    assert doc["coverage"]["syscalls"] == 2
    web = tmp_path / "web.json"
    assert (
        run(capsys, "emit", "--state", str(state), "--container", "web-1", "-o", str(web), "--base", "none")[
            0
        ]
        == 0
    )
    assert run(capsys, "diff", str(web), str(state), "--container", "web-1")[0] == 0
    assert run(capsys, "diff", str(web), str(state))[0] == 1  # the whole state has db-1's call too
    code, out, _ = run(
        capsys, "merge", str(state), "--container", "db-1", "--base", "none", "--enosys", "none"
    )
    assert code == 0
    assert {n for r in json.loads(out)["syscalls"] for n in r["names"]} == {"setpriority"}
    code, _, err = run(capsys, "diff", str(web), str(state), "--container", "nope")
    assert code == 2
    assert "has no observation of nope" in err


def test_explain_keeps_the_records_of_a_live_container(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """explain --container attributes as learn does: live records, looked up in /proc once per process."""
    import os
    import time

    from seccomp_gen import containers

    here = containers.Attributor().attribute(os.getpid(), "python", "", time.time())
    assert here.container is not None  # this test's own process is attributable (host or a container)
    now = time.time()
    lines = [
        f'audit: type=1326 audit({now:.3f}:{i}): auid=0 uid=0 gid=0 ses=1 pid={pid} comm="x" exe="/x" '
        f"sig=0 arch=c000003e syscall={syscall} compat=0 ip=0x1 code=0x7ffc0000\n"
        for i, (pid, syscall) in enumerate(((os.getpid(), 0), (4_000_000, 1), (os.getpid(), 2)), 1)
    ]
    log = tmp_path / "live.log"
    log.write_text("".join(lines))
    code, out, _ = run(capsys, "explain", "--json", str(log), "--container", here.container.label)
    assert code == 0
    assert [json.loads(line)["syscall"] for line in out.splitlines()] == ["read", "open"]  # not the gone pid
    code, out, _ = run(capsys, "explain", "--json", str(log), "--container", "no-such-container")
    assert (code, out) == (0, "")


def test_a_file_read_after_the_fact_is_counted_unattributed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = Path(__file__).resolve().parent.parent / "examples" / "recording" / "busybox-http.kmsg"
    state = tmp_path / "s.db"
    assert run(capsys, "learn", "--state", str(state), str(recording))[0] == 0
    code, out, _ = run(capsys, "status", "--state", str(state), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["counters"]["unattributed:read-after-the-fact"] == 338
    assert [c["container"] for c in doc["containers"]] == [""]
    assert (
        "not attributed, by reason: read-after-the-fact 338"
        in run(capsys, "status", "--state", str(state))[1]
    )
