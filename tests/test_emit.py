"""The emit, check, diff and merge commands, end to end through ``main``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from seccomp_gen.lint import compile_profile
from seccomp_gen.observations import Aggregate, Batch, Observation
from seccomp_gen.profile_read import read_profile
from seccomp_gen.store import Store
from tests.test_profile import fixed_observations, obs

GOLDEN = Path(__file__).parent / "golden"
BOTH = ["--arch", "x86_64", "--arch", "i386"]
PINNED = ["--base", "runc@1.1.5"]  # the state has runc's records: its measured set, on every machine


def make_state(path: Path, observations: Sequence[Observation]) -> Path:
    batch = Batch()
    for o in observations:
        batch.aggregates[o.key] = Aggregate(o.name, o.count, o.first_seen, o.last_seen, o.sample_pid, o.pod)
    with Store.open(path) as store:
        store.write(batch)
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return make_state(tmp_path / "state.db", fixed_observations())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- emit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "golden"),
    [
        pytest.param("docker", "emit.docker.json", id="docker"),
        pytest.param("oci", "emit.oci.json", id="oci"),
        pytest.param("spo", "emit.spo.yaml", id="spo"),
        pytest.param("systemd", "emit.systemd.conf", id="systemd"),
    ],
)
def test_emit_matches_the_golden_file(
    capsys: pytest.CaptureFixture[str], state: Path, fmt: str, golden: str
) -> None:
    code, out, _ = run(capsys, "emit", "--state", str(state), *BOTH, *PINNED, "-f", fmt, "--name", "demo-app")
    assert code == 0
    assert out == (GOLDEN / golden).read_text()


def test_emit_twice_gives_identical_bytes(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    first = run(capsys, "emit", "--state", str(state))
    second = run(capsys, "emit", "--state", str(state))
    assert first == second
    assert first[0] == 0


def test_emit_reports_on_stderr(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, _, err = run(capsys, "emit", "--state", str(state), "--arch", "x86_64")
    assert code == 0
    assert "i386 calls observed; add --arch i386?" in err
    assert "x86_64 1000 (x2)" in err
    assert "unknown 5 (x1)" in err


def test_emit_output_file(capsys: pytest.CaptureFixture[str], state: Path, tmp_path: Path) -> None:
    target = tmp_path / "profile.json"
    code, out, _ = run(capsys, "emit", "--state", str(state), "-o", str(target))
    assert (code, out) == (0, "")
    compile_profile(read_profile(target.read_text(), str(target)).profile)


def test_emit_output_into_missing_directory(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "-o", "/nonexistent/dir/p.json")
    assert (code, out) == (2, "")
    assert "cannot write '/nonexistent/dir/p.json'" in err


@pytest.mark.parametrize(
    ("observations", "extra", "message"),
    [
        pytest.param([], [], "no observations", id="empty"),
        pytest.param(None, ["--comm", "nginx"], "filters left none", id="filtered-out"),
        pytest.param(None, ["--allow", "no_such_call"], "no_such_call", id="bad-allow"),
        pytest.param(None, ["--arch", "vax"], "vax", id="bad-arch"),
        pytest.param(None, ["--base", "docker"], "docker", id="bad-base"),
    ],
)
def test_emit_errors_write_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    observations: list[Observation] | None,
    extra: list[str],
    message: str,
) -> None:
    path = make_state(tmp_path / "s.db", fixed_observations() if observations is None else observations)
    code, out, err = run(capsys, "emit", "--state", str(path), *extra)
    assert (code, out) == (2, "")
    assert message in err


def test_emit_without_a_state(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "emit", "--state", str(tmp_path / "none.db"))
    assert (code, out) == (2, "")
    assert "no state at" in err


def _emitted(capsys: pytest.CaptureFixture[str], state: Path, *args: str) -> dict[str, object]:
    code, out, _ = run(capsys, "emit", "--state", str(state), *args)
    assert code == 0
    doc: dict[str, object] = json.loads(out)
    return doc


@pytest.mark.parametrize(
    ("args", "key", "expected"),
    [
        pytest.param(["--errno", "ENOSYS"], "defaultErrnoRet", 38, id="errno-name"),
        pytest.param(["--errno", "13"], "defaultErrnoRet", 13, id="errno-number"),
        pytest.param(
            ["--default-action", "kill-process"], "defaultAction", "SCMP_ACT_KILL_PROCESS", id="kill"
        ),
        pytest.param(["--default-action", "log"], "defaultAction", "SCMP_ACT_LOG", id="log"),
        pytest.param(["--log-denials"], "flags", ["SECCOMP_FILTER_FLAG_LOG"], id="log-denials"),
    ],
)
def test_emit_options(
    capsys: pytest.CaptureFixture[str], state: Path, args: list[str], key: str, expected: object
) -> None:
    assert _emitted(capsys, state, *args)[key] == expected


def test_kill_default_has_no_errno(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    assert "defaultErrnoRet" not in _emitted(capsys, state, "--default-action", "kill-process")


def test_bad_errno_is_a_usage_error(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "--errno", "EWHAT")
    assert (code, out) == (2, "")
    assert "EWHAT" in err


def _rules(doc: dict[str, object]) -> list[dict[str, object]]:
    rules = doc["syscalls"]
    assert isinstance(rules, list)
    return rules


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([], [["clone3"]], id="default-clone3"),
        pytest.param(["--enosys", "none"], [], id="none"),
        pytest.param(["--enosys", "clone3,faccessat2"], [["clone3", "faccessat2"]], id="list"),
    ],
)
def test_enosys_rules(
    capsys: pytest.CaptureFixture[str], state: Path, args: list[str], expected: list[list[str]]
) -> None:
    rules = _rules(_emitted(capsys, state, *args, "--base", "none"))
    assert [r["names"] for r in rules if r["action"] == "SCMP_ACT_ERRNO"] == expected


def test_base_and_allow_add_names(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    rules = _rules(_emitted(capsys, state, "--base", "runc", "--allow", "getpid,uname"))
    names = {n for r in rules if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}  # type: ignore[attr-defined]
    assert {"getpid", "uname", "capset", "setgroups"} <= names


def test_filter_dropping_runc_warns_without_a_base(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, _, err = run(capsys, "emit", "--state", str(state), "--comm", "demo", "--base", "none")
    assert code == 0
    assert "warning: the filters dropped the container runtime's own records (runc:[2:INIT])" in err


def test_filter_dropping_runc_keeps_its_base(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    """The runtime is found in every record, not only the kept ones: its needs are still added."""
    code, out, err = run(capsys, "emit", "--state", str(state), "--comm", "demo", *PINNED)
    assert code == 0
    assert "warning: the filters dropped" not in err
    names = {n for r in json.loads(out)["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    assert {"capset", "setgroups", "futex"} <= names


def test_untrusted_only_names_are_listed_and_can_be_left_out(
    capsys: pytest.CaptureFixture[str], state: Path
) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state))
    assert code == 0
    assert "getuid32" in out
    assert "syslog text): getuid32" in err
    code, out, _ = run(capsys, "emit", "--state", str(state), "--trusted-only")
    assert "getuid32" not in out


def test_strict_fails_on_warnings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = make_state(tmp_path / "s.db", [obs("x86_64", 0, "read"), obs("x86_64", 101, "ptrace")])
    code, out, err = run(capsys, "emit", "--state", str(path), "--strict")
    assert (code, out) == (1, "")
    assert "ptrace: Docker's default profile" in err


def test_strict_passes_a_clean_profile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seen = [obs("x86_64", 0, "read", count=5), obs("x86_64", 1, "write", count=5)]
    path = make_state(tmp_path / "s.db", seen)
    code, out, _ = run(capsys, "emit", "--state", str(path), "--strict")
    assert code == 0
    assert json.loads(out)["syscalls"][0]["names"] == ["read", "write"]


@pytest.mark.parametrize("fmt", ["pod", "kind"])
def test_kubernetes_manifests(capsys: pytest.CaptureFixture[str], state: Path, fmt: str) -> None:
    code, out, _ = run(capsys, "emit", "--state", str(state), "-f", fmt, "--name", "demo-app")
    assert code == 0
    assert out == (GOLDEN / f"emit.{fmt}.yaml").read_text()


# --- check ----------------------------------------------------------------------------------------


def write_profile(path: Path, names: list[str], default: str = "SCMP_ACT_ERRNO") -> Path:
    doc = {
        "defaultAction": default,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}],
    }
    path.write_text(json.dumps(doc))
    return path


def test_check_a_good_profile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", str(write_profile(tmp_path / "p.json", ["read", "write"])))
    assert code == 0
    assert "compiles for x86_64" in err


@pytest.mark.parametrize(
    ("names", "strict", "expected"),
    [
        pytest.param(["read", "pread"], False, 0, id="warning-passes"),
        pytest.param(["read", "pread"], True, 1, id="warning-fails-strict"),
        pytest.param(["read"], True, 0, id="clean-strict"),
    ],
)
def test_check_strict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, names: list[str], strict: bool, expected: int
) -> None:
    path = write_profile(tmp_path / "p.json", names)
    code, _, _ = run(capsys, "check", str(path), *(["--strict"] if strict else []))
    assert code == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"{ nope", "not JSON", id="invalid-json"),
        pytest.param(b"\xff\xfe", "not UTF-8", id="binary"),
        pytest.param(b"SQLite format 3\x00", "is a state database", id="state"),
    ],
)
def test_check_broken_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content)
    code, _, err = run(capsys, "check", str(path))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_check_whole_oci_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seccomp = json.loads(write_profile(tmp_path / "p.json", ["read"]).read_text())
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ociVersion": "1.0.2", "process": {}, "linux": {"seccomp": seccomp}}))
    code, _, err = run(capsys, "check", str(config))
    assert code == 0
    assert "compiles for x86_64" in err


def test_check_a_profile_libseccomp_cannot_build(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    doc = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PPC64"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}],
    }
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "check", str(path))
    assert code == 2
    assert "libseccomp" in err


def test_emit_refuses_what_the_format_cannot_say(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "-f", "spo", "--errno", "ENOSYS")
    assert (code, out) == (2, "")
    assert "SeccompProfile cannot set the default errno" in err


def test_check_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", str(tmp_path / "missing.json"))
    assert code == 2
    assert "cannot read" in err


# --- diff -----------------------------------------------------------------------------------------


def test_diff_same(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write_profile(tmp_path / "a.json", ["read", "write"])
    b = write_profile(tmp_path / "b.json", ["write", "read"])
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 0
    assert out.startswith("same")


def test_diff_different(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write_profile(tmp_path / "a.json", ["read", "write"])
    b = write_profile(tmp_path / "b.json", ["read", "openat"])
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 1
    assert out.splitlines()[2:] == ["x86_64:", "  - write", "  + openat"]


def test_diff_default_action(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write_profile(tmp_path / "a.json", ["read"])
    b = write_profile(tmp_path / "b.json", ["read"], default="SCMP_ACT_KILL_PROCESS")
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 1
    assert "default action: ERRNO(EPERM) -> KILL_PROCESS" in out


def test_diff_state_against_its_profile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = make_state(tmp_path / "s.db", [obs("x86_64", 0, "read"), obs("x86_64", 1, "write")])
    profile = tmp_path / "p.json"
    assert main(["emit", "--state", str(state), "-o", str(profile), "--enosys", "none"]) == 0
    code, out, _ = run(capsys, "diff", str(state), str(profile))
    assert (code, out.split(":")[0]) == (0, "same")


# --- merge ----------------------------------------------------------------------------------------


def test_merge_profiles(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write_profile(tmp_path / "a.json", ["read", "write"])
    b = write_profile(tmp_path / "b.json", ["read", "openat"])
    code, out, _ = run(capsys, "merge", str(a), str(b), "-f", "oci")
    assert code == 0
    assert json.loads(out)["syscalls"] == [{"names": ["openat", "read", "write"], "action": "SCMP_ACT_ALLOW"}]


def test_merge_refuses_conflicting_defaults(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = write_profile(tmp_path / "a.json", ["read"])
    b = write_profile(tmp_path / "b.json", ["read"], default="SCMP_ACT_KILL_PROCESS")
    code, out, err = run(capsys, "merge", str(a), str(b))
    assert (code, out) == (2, "")
    assert "different default actions" in err


def test_merge_states_into_a_state_adds_counts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = make_state(tmp_path / "a.db", [obs("x86_64", 0, "read", count=2)])
    b = make_state(tmp_path / "b.db", [obs("x86_64", 0, "read", count=3), obs("i386", 3, "read")])
    out_path = tmp_path / "fleet.db"
    code, _, _ = run(capsys, "merge", str(a), str(b), "-o", str(out_path))
    assert code == 0
    with Store.open(out_path, readonly=True) as store:
        assert [(o.abi, o.count) for o in store.observations()] == [("i386", 1), ("x86_64", 5)]


def test_merge_states_and_profiles_into_a_profile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = make_state(tmp_path / "a.db", [obs("x86_64", 0, "read")])
    b = write_profile(tmp_path / "b.json", ["write"])
    code, out, _ = run(capsys, "merge", str(a), str(b), "--enosys", "none", "-f", "oci")
    assert code == 0
    assert json.loads(out)["syscalls"] == [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]


def test_merge_into_an_existing_state_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = make_state(tmp_path / "a.db", [obs("x86_64", 0, "read")])
    code, _, err = run(capsys, "merge", str(a), "-o", str(a))
    assert code == 2
    assert "exists" in err
