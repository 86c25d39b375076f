"""What the targets accept: systemd loads the drop-in, Kubernetes names and paths, the shipped data's
provenance; emit options not covered elsewhere; outputs that fail are never written."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from seccomp_gen.abi import get_abi
from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.errors import ProfileError
from seccomp_gen.libseccomp import resolve
from seccomp_gen.lint import compile_profile, docker_default, review
from seccomp_gen.profile import ALLOW, BuildOptions, Profile, Rule, build_profile, name_exists
from seccomp_gen.profile_read import read_profile
from seccomp_gen.render import Format, RenderOptions, render
from seccomp_gen.runtimes import (
    base_names,
    installed,
    measured_bases,
    parse_version,
    runtime_base,
    runtime_bases,
)
from seccomp_gen.syscalls import syscall_table
from tests.realpath import need_kmsg, need_program, need_root
from tests.test_emit import BOTH, make_state, run
from tests.test_profile import fixed_observations, obs

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return make_state(tmp_path / "state.db", fixed_observations())


# --- systemd accepts the drop-in ------------------------------------------------------------------


def _analyze(unit_dir: Path, *args: str) -> str:
    """``systemd-analyze`` on ``demo.service`` in ``unit_dir`` (drop-ins from ``demo.service.d``)."""
    analyze = need_program("systemd-analyze")
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:", "SYSTEMD_LOG_COLOR": "0", "PAGER": "cat"}
    done = subprocess.run(
        [analyze, *args, str(unit_dir / "demo.service")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return done.stdout + done.stderr


def _unit_with_drop_in(directory: Path, drop_in: str) -> Path:
    (directory / "demo.service.d").mkdir(parents=True)
    (directory / "demo.service").write_text("[Unit]\nDescription=demo\n[Service]\nExecStart=/bin/true\n")
    (directory / "demo.service.d" / "seccomp.conf").write_text(drop_in)
    return directory


def test_systemd_reads_the_emitted_drop_in_without_complaint(
    capsys: pytest.CaptureFixture[str], state: Path, tmp_path: Path
) -> None:
    code, drop_in, _ = run(capsys, "emit", "--state", str(state), *BOTH, "-f", "systemd")
    assert code == 0
    good = _unit_with_drop_in(tmp_path / "good", drop_in)
    # Control: systemd does read this drop-in, and says so when a line is wrong.
    broken = drop_in.replace("SystemCallFilter=", "SystemCallFilter=no_such_call ")
    bad = _unit_with_drop_in(tmp_path / "bad", broken + "SystemCallArchitectures=vax\n")
    complaints = _analyze(bad, "verify")
    assert "Failed to parse system call, ignoring: no_such_call" in complaints
    assert "architecture" in complaints
    assert "seccomp.conf" not in _analyze(good, "verify")
    security = _analyze(good, "security", "--offline=yes")
    assert "System call allow list defined for service" in security
    assert "Service may execute system calls with multiple ABIs" in security  # x86 and x86-64


def test_systemd_refuses_an_errno_it_would_ignore(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "-f", "systemd", "--errno", "0")
    assert (code, out) == (2, "")
    assert "SystemCallErrorNumber= takes errno 1-4095, not 0" in err


# --- Kubernetes names and paths -------------------------------------------------------------------


def test_pod_uses_the_given_localhost_profile(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, _ = run(
        capsys, "emit", "--state", str(state), "-f", "pod", "--name", "web", "--profile-path", "team/web.json"
    )
    assert code == 0
    doc = yaml.safe_load(out)
    assert doc["metadata"]["name"] == "web"
    assert doc["spec"]["securityContext"]["seccompProfile"] == {
        "type": "Localhost",
        "localhostProfile": "team/web.json",
    }


@pytest.mark.parametrize("path", ["/var/lib/kubelet/seccomp/x.json", "../x.json", "profiles/../../x.json"])
def test_pod_profile_path_must_descend(capsys: pytest.CaptureFixture[str], state: Path, path: str) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "-f", "pod", "--profile-path", path)
    assert (code, out) == (2, "")
    assert "relative and without '..'" in err


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        pytest.param("pod", "Web_App", id="pod-uppercase"),
        pytest.param("pod", "a" * 64, id="pod-too-long-for-a-container"),
        pytest.param("pod", "web.app", id="pod-dot-in-container-name"),
        pytest.param("spo", "-web", id="spo-leading-dash"),
    ],
)
def test_names_kubernetes_refuses_are_refused(
    capsys: pytest.CaptureFixture[str], state: Path, fmt: str, name: str
) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "-f", fmt, "--name", name)
    assert (code, out) == (2, "")
    assert f"--name {name!r} cannot name" in err


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85"], ids=["LS", "PS", "NEL"])
@pytest.mark.parametrize(
    "options",
    [
        pytest.param(lambda v: RenderOptions(profile_path=f"p{v}kind: Secret"), id="pod-profile-path"),
        pytest.param(lambda v: RenderOptions(profiles_dir=f"p{v}kind: Secret"), id="kind-profiles-dir"),
    ],
)
def test_yaml_line_breaks_in_values_are_refused(brk: str, options: Callable[[str], RenderOptions]) -> None:
    """Values reach template comments too; YAML 1.1 (PyYAML) ends a line at NEL, U+2028 and U+2029."""
    opts = options(brk)
    fmt = Format.POD if opts.profile_path else Format.KIND
    profile = Profile(Action(ActionKind.ERRNO, 1), ("x86_64",), (Rule(("read",), ALLOW),))
    with pytest.raises(ProfileError, match="control characters"):
        render(profile, fmt, opts)


def test_spo_name_may_have_dots(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, _ = run(capsys, "emit", "--state", str(state), "-f", "spo", "--name", "web.v2")
    assert code == 0
    assert yaml.safe_load(out)["metadata"]["name"] == "web.v2"


def test_spo_spec_is_a_seccomp_profile_that_compiles(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, _ = run(capsys, "emit", "--state", str(state), *BOTH, "-f", "spo")
    assert code == 0
    spec = yaml.safe_load(out)["spec"]
    assert set(spec) <= {"defaultAction", "architectures", "flags", "syscalls"}
    profile = read_profile(json.dumps(spec), "spec").profile
    assert profile.architectures == ("i386", "x86_64")
    compile_profile(profile)


# --- shipped data: derived from reference/, with provenance -------------------------------


def _generator() -> ModuleType:
    name = "gen_profile_data"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "gen_profile_data.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.parametrize("runtime", ["runc", "crun"])
def test_runtime_base_names_its_version_and_source(runtime: str) -> None:
    entry = runtime_bases()[runtime]
    source = entry["source"]
    data = (REFERENCE / "security-profiles-operator" / source["path"]).read_bytes()
    assert source["blob"] == _generator().git_blob_hash(data)
    assert entry["profile"].startswith(f"{runtime}-v")
    profile, names = base_names(runtime)
    assert f"name: {profile}".encode() in data
    assert all(f"- {name}\n".encode() in data for name in names)


def test_docker_review_data_names_its_source() -> None:
    source = docker_default()["source"]
    data = (REFERENCE / "moby-profiles" / source["path"]).read_bytes()
    assert source["blob"] == _generator().git_blob_hash(data)


@pytest.mark.parametrize("base", ["runc", "runc@1.1.5", "runc@1.0.0", "crun", "crun@1.8"])
def test_emit_base_adds_that_runtime_set(capsys: pytest.CaptureFixture[str], state: Path, base: str) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "--arch", "x86_64", "--base", base)
    assert code == 0
    runtime, _, pinned = base.partition("@")
    version = pinned or {r.name: r.version for r in installed((runtime,))}.get(runtime)
    expected = runtime_base(runtime, version)
    rules = json.loads(out)["syscalls"]
    allowed = {n for r in rules if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    assert set(expected.names) <= allowed
    assert expected.source in err
    # the names only the base brings are one rule, whose comment says why
    (commented,) = [r for r in rules if "own init" in r.get("comment", "")]
    assert set(commented["names"]) <= set(expected.names)


def test_base_auto_is_the_default(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Without runtime records, auto is none; with runc's, it is --base runc."""
    app = [obs("x86_64", 0, "read"), obs("x86_64", 1, "write")]
    plain = make_state(tmp_path / "plain.db", app)
    assert run(capsys, "emit", "--state", str(plain)) == run(
        capsys, "emit", "--state", str(plain), "--base", "none"
    )
    started = make_state(tmp_path / "runc.db", [*app, obs("x86_64", 59, "execve", comm="runc:[2:INIT]")])
    code, out, err = run(capsys, "emit", "--state", str(started))
    assert (code, out) == run(capsys, "emit", "--state", str(started), "--base", "runc")[:2]
    assert "--base auto: records of runc:[2:INIT] show that runc started the container" in err


# --- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "scmp"),
    [("kill-thread", "SCMP_ACT_KILL_THREAD"), ("trap", "SCMP_ACT_TRAP"), ("errno", "SCMP_ACT_ERRNO")],
)
def test_default_action_choices(
    capsys: pytest.CaptureFixture[str], state: Path, choice: str, scmp: str
) -> None:
    code, out, _ = run(capsys, "emit", "--state", str(state), "--default-action", choice)
    assert code == 0
    doc = json.loads(out)
    assert doc["defaultAction"] == scmp
    assert ("defaultErrnoRet" in doc) == (choice == "errno")


def test_enosys_name_no_architecture_has_is_refused(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "--enosys", "clone3,no_such_call")
    assert (code, out) == (2, "")
    assert "--enosys 'no_such_call'" in err


def test_enosys_name_absent_from_the_requested_abis_is_noted(
    capsys: pytest.CaptureFixture[str], state: Path
) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "--arch", "x86_64", "--enosys", "socketcall")
    assert code == 0
    assert all(rule["action"] == "SCMP_ACT_ALLOW" for rule in json.loads(out)["syscalls"])
    assert "--enosys: no socketcall on x86_64" in err


def test_errno_zero_is_warned_about() -> None:
    profile = Profile(Action(ActionKind.ERRNO, 0), ("x86_64",), (Rule(("read",), ALLOW),))
    assert [f.code for f in review(profile)] == ["errno-zero"]


def test_allowing_only_names_absent_here_counts_as_an_empty_allowlist() -> None:
    profile = Profile(Action(ActionKind.ERRNO, 1), ("x86_64",), (Rule(("socketcall",), ALLOW),))
    found = {f.code: f.message for f in review(profile)}
    assert "here the profile denies everything" in found["empty-allowlist"]
    allowed = Profile(Action(ActionKind.ERRNO, 1), ("x86_64", "i386"), (Rule(("socketcall",), ALLOW),))
    assert "empty-allowlist" not in {f.code for f in review(allowed)}


def test_name_the_installed_libseccomp_lacks_is_kept_and_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Kept for runtimes with a newer libseccomp; this one (and runc built on it) skips it."""
    table = syscall_table(get_abi("x86_64"))
    missing = [(number, name) for number, name in sorted(table.items()) if resolve("x86_64", name) == -1]
    if not missing:
        pytest.skip("the installed libseccomp knows every x86_64 syscall of the tables")
    number, name = missing[-1]
    path = make_state(tmp_path / "s.db", [obs("x86_64", 0, "read"), obs("x86_64", number, None)])
    code, out, err = run(capsys, "emit", "--state", str(path))
    assert code == 0
    assert name in json.loads(out)["syscalls"][0]["names"]
    assert f"warning: {name} is unknown to the installed libseccomp" in err
    assert run(capsys, "emit", "--state", str(path), "--strict")[:2] == (1, "")
    alone = make_state(tmp_path / "alone.db", [obs("x86_64", number, None)])
    code, out, err = run(capsys, "emit", "--state", str(alone))
    assert code == 0
    assert "here the profile denies everything" in err


def test_a_risk_allowed_on_purpose_passes_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seen = [obs("x86_64", 0, "read", count=3), obs("x86_64", 101, "ptrace", count=3)]
    path = make_state(tmp_path / "s.db", seen)
    code, out, err = run(capsys, "emit", "--state", str(path), "--strict", "--allow", "ptrace")
    assert code == 0
    assert "ptrace" in json.loads(out)["syscalls"][0]["names"]
    assert "note: ptrace: Docker's default profile allows it only conditionally" in err
    assert "allowed on purpose (--allow)" in err
    code, _, err = run(capsys, "emit", "--state", str(path), "--strict", "--allow", "getpid")
    assert code == 1
    assert "warning: ptrace: Docker's default profile" in err


# --- determinism ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(Format), ids=[f.value for f in Format])
def test_order_of_observations_does_not_change_a_byte(fmt: Format) -> None:
    observations = fixed_observations()
    options = BuildOptions(abis=("x86_64", "i386"))
    expected = render(build_profile(observations, options).profile, fmt, RenderOptions(name="demo"))
    rng = random.Random(5)
    for _ in range(5):
        rng.shuffle(observations)
        assert (
            render(build_profile(observations, options).profile, fmt, RenderOptions(name="demo")) == expected
        )


def test_docker_json_layout(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, _ = run(capsys, "emit", "--state", str(state))
    assert code == 0
    doc = json.loads(out)
    assert out == json.dumps(doc, indent=2) + "\n"
    assert doc["architectures"] == ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]  # observed: both ABIs


# --- nothing broken is written --------------------------------------------------------------------


def test_a_profile_that_does_not_compile_is_never_written(
    capsys: pytest.CaptureFixture[str], state: Path, tmp_path: Path
) -> None:
    target = tmp_path / "profile.json"
    target.write_text("old\n")
    args = ["emit", "--state", str(state), "--arch", "x86_64", "--arch", "ppc64"]
    code, out, err = run(capsys, *args, "-o", str(target))
    assert (code, out) == (2, "")
    assert "cannot build a filter for ppc64, x86_64" in err
    assert target.read_text() == "old\n"
    assert run(capsys, *args)[:2] == (2, "")


def test_strict_failure_leaves_the_output_file_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = make_state(tmp_path / "s.db", [obs("x86_64", 0, "read"), obs("x86_64", 165, "mount")])
    target = tmp_path / "profile.json"
    target.write_text("old\n")
    code, out, err = run(capsys, "emit", "--state", str(path), "--strict", "-o", str(target))
    assert (code, out) == (1, "")
    assert "mount: Docker's default profile" in err
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile.json", "s.db"]


# --- diff per ABI ---------------------------------------------------------------------------------


def test_diff_of_two_states_is_per_abi(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = make_state(tmp_path / "a.db", [obs("x86_64", 102, None), obs("i386", 102, None)])
    b = make_state(tmp_path / "b.db", [obs("x86_64", 102, None), obs("i386", 24, None)])
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 1
    assert out.splitlines()[2:] == ["i386:", "  - socketcall", "  + getuid"]


def test_measured_bases_are_consistent() -> None:
    """Each measurement names its version, its starts and, per call, in how many starts it came."""
    measurements = measured_bases()
    assert measurements
    for entry in measurements:
        assert entry["runtime"] in runtime_bases()
        assert parse_version(entry["banner"]) == entry["version"]
        assert entry["names"] == sorted(entry["seen_in_starts"])
        assert all(0 < count <= entry["starts"] for count in entry["seen_in_starts"].values())
        assert all(name_exists("x86_64", name) for name in entry["names"])
        assert entry["failed_starts"] == 0


@pytest.mark.realpath
def test_the_packaged_runc_set_covers_a_new_measurement() -> None:
    """What scripts/measure_runtime_base.py measures now is in the packaged set of this runc."""
    need_root()
    need_kmsg()
    need_program("runc")
    busybox = need_program("busybox")
    script = Path(__file__).resolve().parent.parent / "scripts" / "measure_runtime_base.py"
    done = subprocess.run(
        [sys.executable, str(script), "--starts", "20", "--check", "--busybox", busybox],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "20 starts, 0 failed" in done.stdout
